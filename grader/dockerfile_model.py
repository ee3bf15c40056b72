"""The data a Dockerfile is read into: BuildKit's nodes, the engine's dialect, stages and their instructions.

Kept apart from grader/dockerfile.py (which reads the text into these) so the reading stays small enough to
read in one sitting; grader.dockerfile re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from grader.instruction_flags import flag_pairs

__all__ = ["WORKSHOP_ENGINE", "Dialect", "DockerfileInfo", "Instruction", "Node", "Stage"]


@dataclass(frozen=True)
class Node:
    """One instruction as BuildKit reads it; `end_line` covers continuations, comments and heredoc bodies."""

    keyword: str  # upper-case
    flags: tuple[str, ...]  # ("--from=build", ...), read by instruction_flags.split_flags as the engine reads them
    words: tuple[str, ...]  # BuildKit's value: JSON items, (key, value, ...) for ENV and LABEL, words for FROM
    json: bool
    line: int
    end_line: int
    original: str  # the logical line, continuations joined (heredoc bodies included)
    heredocs: tuple[str, ...]  # the heredoc names
    sub_keyword: str | None  # ONBUILD's instruction
    trigger: Node | None = None  # ONBUILD's instruction, parsed again as the builder does when it runs

    @property
    def args(self) -> str:
        """The text after the keyword and its flags."""
        parts = self.original.strip().split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
        for _ in self.flags:
            if rest.startswith("--"):
                flag_and_rest = rest.split(None, 1)
                rest = flag_and_rest[1].lstrip() if len(flag_and_rest) > 1 else ""
        return rest.strip()


@dataclass(frozen=True)
class Dialect:
    """What an engine's Dockerfile frontend understands. The default, WORKSHOP_ENGINE, is the workshop's:
    Docker 20.10 (classic builder) and its built-in BuildKit v0.8 (through buildx), offline."""

    flags: Mapping[str, frozenset[str]] = field(default_factory=lambda: {
        "FROM": frozenset({"platform"}),
        "COPY": frozenset({"from", "chown", "chmod"}),
        "ADD": frozenset({"chown", "chmod"}),
        "RUN": frozenset({"mount"}),
        "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "retries"}),
    })
    #: "KEYWORD --flag" that the classic builder refuses and BuildKit builds.
    buildkit_only_flags: frozenset[str] = frozenset({"COPY --chmod", "ADD --chmod", "RUN --mount"})
    #: Heredocs need Dockerfile frontend 1.4 (BuildKit >= 0.10); then they are BuildKit-only.
    heredocs: bool = False
    #: `# syntax=` pulls a frontend image from a registry, which the workshop never reaches.
    syntax_directive: bool = False


WORKSHOP_ENGINE = Dialect()


@dataclass(frozen=True)
class Instruction:
    """One instruction, its flags (`--from=builder`) and the lines it spans (1-based)."""

    keyword: str
    args: str
    flags: tuple[str, ...]
    line: int
    stage: int
    end_line: int = 0  # 0: the same as `line` (an instruction made by hand)
    trigger: Instruction | None = None  # ONBUILD's instruction, with its own flags

    def flag_values(self, name: str) -> tuple[str, ...]:
        """Every value of `--name=value`, in order (RUN --mount repeats)."""
        return tuple(value for key, value in flag_pairs(self.flags) if key == name and value is not None)

    @property
    def text(self) -> str:
        return " ".join((self.keyword, *self.flags, self.args)).strip()

    def flag(self, name: str) -> str | None:
        """The value of `--name=value`, or None (validate() refuses a repeated or valueless --from)."""
        values = self.flag_values(name)
        return values[0] if values else None


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
        """The instruction that covers `line` (or the last one before it), for mapping "Dockerfile:12" to text."""
        best: Instruction | None = None
        for stage in self.stages:
            for instruction in stage.instructions:
                if instruction.line <= line:
                    best = instruction
        return best

    def all_instructions(self) -> tuple[Instruction, ...]:
        return tuple(i for stage in self.stages for i in stage.instructions)
