"""Pick the lines of a failed build's log that say why it failed, as well as its tail.

The last 20 lines are often the least useful: under BuildKit a psycopg2 build ends with pip's
"metadata-generation-failed" box and BuildKit's summary, while the cause ("Error: pg_config executable not
found.") is 30-60 lines earlier. `log_excerpt` keeps the lines that name an error (per build step, each text
once, in log order) and then the tail, so the learner sees the cause and the context. Pure: it reads text only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["cause_lines", "first_cause", "log_excerpt"]

#: Lines that name an error in the tools our apps build with (pip, npm, apt, gcc, node-gyp, sh, BuildKit).
_CAUSE = re.compile(
    r"\berror\b|\bERR!|\bfatal\b|\bfailed\b|\bnot found\b|no such file|permission denied|cannot find"
    r"|could not|unable to|\bE: |exit code|exception|traceback|\bdenied\b|killed|out of memory|no space left",
    re.IGNORECASE,
)
#: BuildKit's "#12 3.456 " prefix (step id, seconds) and the classic builder's leading spaces.
_PREFIX = re.compile(r"^(?:#(\d+)\s+)?(?:\d+\.\d+(?:\s+|$))?")
#: Noise that matches _CAUSE but names no cause (pip's hints, BuildKit's box lines, npm's log pointers).
_NOISE = re.compile(r"^(?:note:|hint:|npm ERR! A complete log|npm ERR!\s*$|╰─>|-{3,}|\s*$)", re.IGNORECASE)


def _normalised(line: str) -> tuple[str | None, str]:
    """(BuildKit step id or None, the text without the step/time prefix, stripped)."""
    match = _PREFIX.match(line)
    if match:
        return match.group(1), line[match.end():].strip()
    return None, line.strip()


def cause_lines(log: Sequence[str], limit: int = 12) -> tuple[str, ...]:
    """The lines that name an error, each text once, at most `limit` (the first ones: causes come first)."""
    seen: set[str] = set()
    found: list[str] = []
    for line in log:
        _step, text = _normalised(line)
        if not text or text in seen or _NOISE.match(text) or not _CAUSE.search(text):
            continue
        seen.add(text)
        found.append(line.rstrip())
        if len(found) >= limit:
            break
    return tuple(found)


def log_excerpt(log: Sequence[str], tail: int = 20, limit: int = 12) -> tuple[str, ...]:
    """The cause lines that are not already in the tail, a marker line, then the last `tail` non-blank lines."""
    lines = [line.rstrip() for line in log if line.strip()]
    last = lines[-tail:] if tail else []
    in_tail = {_normalised(line)[1] for line in last}
    causes = [line for line in cause_lines(lines[: len(lines) - len(last)], limit)
              if _normalised(line)[1] not in in_tail]
    if not causes:
        return tuple(last)
    return (*causes, f"... (the last {len(last)} log lines follow)", *last)


#: A line that states an error itself ("Error: pg_config executable not found.", "npm error code ENOTCACHED",
#: "E: Unable to locate package"), rather than reporting that something failed.
_STATES_ERROR = re.compile(r"^(?:error|fatal|e|npm error|npm err!)[: ]", re.IGNORECASE)
#: pip's and BuildKit's wrappers around the real error.
_WRAPPER = re.compile(r"subprocess-exited-with-error|metadata-generation-failed|failed to solve|executor failed",
                      re.IGNORECASE)


def first_cause(log: Sequence[str]) -> str | None:
    """The one line to put in a failure's message: the first that states an error, else the first cause line."""
    causes = [_normalised(line)[1] for line in cause_lines(log, limit=40)]
    stated = [text for text in causes if _STATES_ERROR.match(text) and not _WRAPPER.search(text)]
    found = stated or [text for text in causes if not _WRAPPER.search(text)]
    return found[0][:300] if found else None
