"""A small Dockerfile parser: stages, instructions with line numbers, the final USER, BuildKit-only syntax.

We parse ourselves (rather than ask the engine) so that `multi-stage` and `non-root` can reason about stages,
and so that a syntax error or BuildKit-only syntax is reported with its line before any build starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.errors import DockerfileError

KNOWN_INSTRUCTIONS = frozenset(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN SHELL STOPSIGNAL USER "
    "VOLUME WORKDIR".split()
)

#: Flags the classic builder rejects or ignores; each needs BuildKit.
_BUILDKIT_FLAGS = {
    "RUN": ("--mount", "--network", "--security"),
    "COPY": ("--chmod", "--link", "--parents", "--exclude"),
    "ADD": ("--chmod", "--link", "--checksum", "--keep-git-dir", "--exclude"),
}
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")


@dataclass(frozen=True)
class Instruction:
    """One instruction, its flags (`--from=builder`) and the line it starts on (1-based)."""

    keyword: str
    args: str
    flags: tuple[str, ...]
    line: int
    stage: int

    @property
    def text(self) -> str:
        return " ".join((self.keyword, *self.flags, self.args)).strip()

    def flag(self, name: str) -> str | None:
        """The value of `--name=value`, or None."""
        for flag in self.flags:
            key, _, value = flag.partition("=")
            if key == f"--{name}":
                return value
        return None


@dataclass(frozen=True)
class Stage:
    """One FROM and what follows it."""

    index: int
    base: str
    name: str | None
    line: int
    instructions: tuple[Instruction, ...]

    def last(self, keyword: str) -> Instruction | None:
        found = [i for i in self.instructions if i.keyword == keyword]
        return found[-1] if found else None


@dataclass(frozen=True)
class DockerfileInfo:
    """The parsed Dockerfile; `buildkit_features` lists (line, what) that the classic builder cannot do."""

    text: str
    stages: tuple[Stage, ...]
    buildkit_features: tuple[tuple[int, str], ...]

    @property
    def final_stage(self) -> Stage:
        return self.stages[-1]

    def stage_named(self, ref: str) -> Stage | None:
        for stage in self.stages:
            if stage.name == ref.lower() or ref == str(stage.index):
                return stage
        return None

    def ancestry(self, stage: Stage) -> tuple[Stage, ...]:
        """The stage and the stages it is FROM, nearest first (FROM builder inherits builder's files)."""
        chain = [stage]
        seen = {stage.index}
        while (parent := self.stage_named(chain[-1].base)) is not None and parent.index not in seen:
            chain.append(parent)
            seen.add(parent.index)
        return tuple(chain)

    @property
    def final_user(self) -> str | None:
        """The last USER of the final stage, following FROM <stage>; None when no stage sets one."""
        for stage in self.ancestry(self.final_stage):
            user = stage.last("USER")
            if user is not None:
                return user.args.strip()
        return None

    @property
    def final_base(self) -> str:
        """The image the final stage starts from, following FROM <stage> to an image name."""
        return self.ancestry(self.final_stage)[-1].base

    def instruction_at(self, line: int) -> Instruction | None:
        """The instruction that covers `line`, for mapping BuildKit's "Dockerfile:12" to text."""
        best: Instruction | None = None
        for stage in self.stages:
            for instruction in stage.instructions:
                if instruction.line <= line:
                    best = instruction
        return best

    def all_instructions(self) -> tuple[Instruction, ...]:
        return tuple(i for stage in self.stages for i in stage.instructions)


_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


def _escape_char(lines: list[str]) -> str:
    """The `# escape=` parser directive, which Docker reads only among the leading directive lines."""
    for raw in lines:
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            return match.group(2)
    return "\\"


def _skip_heredocs(logical: str, lines: list[str], index: int) -> int:
    """The index after the bodies of the heredocs (`<<EOF`) that a RUN/COPY/ADD line opens."""
    words = logical.split(None, 1)
    if not words or words[0].upper() not in {"RUN", "COPY", "ADD"}:
        return index
    for marker in _HEREDOC.findall(logical):
        while index < len(lines) and lines[index].strip() != marker:
            index += 1
        index += 1
    return index


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuation lines, drop comments and blank lines (inside continuations too, as Docker does),
    skip heredoc bodies; keep the starting line number."""
    lines = text.removeprefix("\ufeff").splitlines()
    escape = _escape_char(lines)
    result: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        index += 1
        if not stripped or stripped.startswith("#"):
            continue
        if not buffer:
            start = index
        if stripped.endswith(escape):
            buffer.append(stripped[: -len(escape)])
            continue
        buffer.append(stripped)
        logical = " ".join(part for part in buffer if part)
        buffer = []
        result.append((start, logical))
        index = _skip_heredocs(logical, lines, index)
    if buffer and (logical := " ".join(part for part in buffer if part)):
        result.append((start, logical))
    return result


def _substitute(value: str, args: dict[str, str]) -> str:
    """`node:${NODE_VERSION}` with the ARG defaults declared before the first FROM (as the builder does)."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)"
#: Docker's image reference grammar (distribution/reference): [domain/]name[:tag][@digest].
IMAGE_REFERENCE = re.compile(
    rf"^{_DOMAIN}?{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


def _split_flags(rest: str) -> tuple[tuple[str, ...], str]:
    """`--from=builder --chown=1000 src dst` -> (("--from=builder", "--chown=1000"), "src dst")."""
    flags: list[str] = []
    rest = rest.strip()
    while rest.startswith("--"):
        parts = rest.split(None, 1)
        flags.append(parts[0])
        rest = parts[1].strip() if len(parts) > 1 else ""
    return tuple(flags), rest


def _buildkit_uses(keyword: str, flags: tuple[str, ...], rest: str, line: int) -> list[tuple[int, str]]:
    found = [(line, f"{keyword} {bk}") for bk in _BUILDKIT_FLAGS.get(keyword, ())
             if any(f == bk or f.startswith(bk + "=") for f in flags)]
    if keyword in {"RUN", "COPY", "ADD"} and _HEREDOC.search(rest):
        found.append((line, f"{keyword} heredoc (<<)"))
    return found


def _from_header(rest: str, line: int, global_args: dict[str, str]) -> tuple[str, str | None, int]:
    """(image, stage name, line) of `FROM image [AS name]`, rejecting what Docker rejects."""
    words = rest.split()
    if not words:
        raise DockerfileError(f"Line {line}: FROM needs an image, e.g. `FROM node:20-slim`.", line=line)
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
        raise DockerfileError(f"Line {line}: FROM takes an image and optionally `AS name` (`FROM node:20-slim AS "
                              f"build`), not `{rest[:80]}`.", line=line)
    image = _substitute(words[0], global_args)
    if "$" not in image and not IMAGE_REFERENCE.match(image):
        raise DockerfileError(f"Line {line}: `{image[:80]}` is not a valid image name (lower-case name, optional "
                              f":tag, no quotes), e.g. `FROM python:3.11-slim`.", line=line)
    name = words[2].lower() if len(words) == 3 else None
    if name is not None and not _STAGE_NAME.match(name):
        raise DockerfileError(f"Line {line}: stage name `{words[2][:40]}` is invalid: start with a letter, then "
                              "letters, digits, `-`, `_` or `.`.", line=line)
    return image, name, line


def _keyword(logical: str, line: int) -> tuple[str, str]:
    parts = logical.split(None, 1)
    keyword = parts[0].upper()
    if keyword not in KNOWN_INSTRUCTIONS:
        raise DockerfileError(
            f"Line {line}: unknown instruction `{parts[0][:40]}`. Valid ones: {', '.join(sorted(KNOWN_INSTRUCTIONS))}.",
            line=line,
        )
    return keyword, parts[1] if len(parts) > 1 else ""


def parse_dockerfile(text: str) -> DockerfileInfo:
    """Parse `text`; raise DockerfileError naming the line for anything the engine would reject."""
    if not text.removeprefix("\ufeff").strip():
        raise DockerfileError("The Dockerfile is empty. Start from the exercise's Dockerfile (`workshop reset APP`).")
    stages: list[Stage] = []
    current: list[Instruction] = []
    header: tuple[str, str | None, int] | None = None
    buildkit: list[tuple[int, str]] = []
    global_args: dict[str, str] = {}
    for line, logical in _logical_lines(text):
        keyword, rest = _keyword(logical, line)
        flags, rest = _split_flags(rest)
        buildkit.extend(_buildkit_uses(keyword, flags, rest, line))
        if keyword == "FROM":
            if header is not None:
                stages.append(Stage(len(stages), header[0], header[1], header[2], tuple(current)))
            header, current = _from_header(rest, line, global_args), []
        elif header is None and keyword == "ARG":
            name, _, default = rest.partition("=")
            global_args[name.strip()] = default.strip().strip('"\'')
        elif header is None:
            raise DockerfileError(
                f"Line {line}: `{keyword}` comes before any FROM. A Dockerfile starts with FROM (ARG may precede it).",
                line=line,
            )
        else:
            current.append(Instruction(keyword, rest, flags, line, len(stages)))
    if header is None:
        raise DockerfileError("The Dockerfile has no FROM instruction.")
    stages.append(Stage(len(stages), header[0], header[1], header[2], tuple(current)))
    return DockerfileInfo(text=text, stages=tuple(stages), buildkit_features=tuple(buildkit))
