"""A small Dockerfile parser: stages, instructions with line numbers, the final USER, BuildKit-only syntax.

We parse ourselves (rather than ask the engine) so that `multi-stage` and `non-root` can reason about stages,
and so that a syntax error or BuildKit-only syntax is reported with its line before any build starts.
"""

from __future__ import annotations

import re
import shlex
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


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuation lines, drop comments, skip heredoc bodies; keep the starting line number."""
    escape = "\\"
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    directive = re.match(r"#\s*escape\s*=\s*(\S)", first)
    if directive:
        escape = directive.group(1)
    lines = text.splitlines()
    result: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    index = 0
    while index < len(lines):
        raw = lines[index]
        stripped = raw.strip()
        index += 1
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
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
        for marker in _HEREDOC.findall(logical) if logical.split(None, 1)[0].upper() in {"RUN", "COPY", "ADD"} else []:
            while index < len(lines) and lines[index].strip() != marker:
                index += 1
            index += 1
    if buffer:
        result.append((start, " ".join(buffer)))
    return result


def _substitute(value: str, args: dict[str, str]) -> str:
    """`node:${NODE_VERSION}` with the ARG defaults declared before the first FROM (as the builder does)."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


def parse_dockerfile(text: str) -> DockerfileInfo:
    """Parse `text`; raise DockerfileError naming the line for anything the engine would reject."""
    if not text.strip():
        raise DockerfileError("The Dockerfile is empty. Start from the exercise's Dockerfile (`workshop reset APP`).")
    stages: list[Stage] = []
    current: list[Instruction] = []
    header: tuple[str, str | None, int] | None = None
    buildkit: list[tuple[int, str]] = []

    def close() -> None:
        if header is not None:
            base, name, line = header
            stages.append(Stage(len(stages), base, name, line, tuple(current)))

    global_args: dict[str, str] = {}
    for line, logical in _logical_lines(text):
        keyword, _, rest = logical.partition(" ")
        keyword = keyword.upper()
        if keyword not in KNOWN_INSTRUCTIONS:
            raise DockerfileError(
                f"Line {line}: unknown instruction `{keyword}`. Valid ones: {', '.join(sorted(KNOWN_INSTRUCTIONS))}.",
                line=line,
            )
        flags: list[str] = []
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.strip()
        for bk_flag in _BUILDKIT_FLAGS.get(keyword, ()):
            if any(f == bk_flag or f.startswith(bk_flag + "=") for f in flags):
                buildkit.append((line, f"{keyword} {bk_flag}"))
        if keyword in {"RUN", "COPY", "ADD"} and _HEREDOC.search(rest):
            buildkit.append((line, f"{keyword} heredoc (<<)"))
        if keyword == "FROM":
            close()
            words = shlex.split(rest) if rest else []
            if not words:
                raise DockerfileError(f"Line {line}: FROM needs an image, e.g. `FROM node:20-slim`.", line=line)
            name = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
            header = (_substitute(words[0], global_args), name, line)
            current = []
            continue
        if header is None:
            if keyword == "ARG":
                name, _, default = rest.partition("=")
                global_args[name.strip()] = default.strip().strip('"\'')
                continue
            raise DockerfileError(
                f"Line {line}: `{keyword}` comes before any FROM. A Dockerfile starts with FROM (ARG may precede it).",
                line=line,
            )
        current.append(Instruction(keyword, rest, tuple(flags), line, len(stages)))
    close()
    if not stages:
        raise DockerfileError("The Dockerfile has no FROM instruction.")
    return DockerfileInfo(text=text, stages=tuple(stages), buildkit_features=tuple(buildkit))
