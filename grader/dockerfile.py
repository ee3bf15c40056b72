"""The Dockerfile as the engine reads it: BuildKit's own parser, and the grader's layer on top.

    text --tokenize--> Node (BuildKit's AST: directives, BOM, CRLF, continuations, heredocs, start..end lines)
         --validate--> what THIS engine's frontend refuses (a Dialect) and what only BuildKit builds
         --model-----> DockerfileInfo: stages, instructions with lines and flags, the final USER

Tokenizing is BuildKit's `frontend/dockerfile/parser` through the PyPI package `dockerfile`, so the grader reads
a file the way `docker build` does. The AST parser leaves keywords, flags and argument counts to BuildKit's
`instructions.Parse`; `validate` checks those, for the engine the workshop runs (Docker 20.10 with BuildKit v0.8:
no heredocs, no COPY --link, no RUN --network, no HEALTHCHECK --start-interval, and no `# syntax=` offline).
`replace_instruction` is the one way the project edits a Dockerfile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn

import dockerfile as buildkit  # BuildKit's parser (a cgo binding); the wheel ships no type information

from grader.errors import DockerfileError

__all__ = [
    "IMAGE_REFERENCE", "KNOWN_INSTRUCTIONS", "WORKSHOP_ENGINE", "Dialect", "DockerfileInfo", "Instruction", "Node",
    "Stage", "parse_dockerfile", "replace_instruction", "tokenize", "validate",
]

KNOWN_INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
#: Instructions that this engine refuses without an argument (corpus 57, 67-81; RUN, CMD and ENTRYPOINT alone
#: are accepted). COPY and ADD need a source and a destination.
_NEED_ARGUMENTS = frozenset({
    "ADD", "ARG", "COPY", "ENV", "EXPOSE", "LABEL", "MAINTAINER", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME",
    "WORKDIR",
})
_BUILD_PLATFORM_ARGS = re.compile(r"\$\{?(BUILD|TARGET)(PLATFORM|OS|ARCH|VARIANT)\b")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_NO_INSTRUCTIONS = "file with no instructions"


@dataclass(frozen=True)
class Node:
    """One instruction as BuildKit reads it; `end_line` covers continuations, comments and heredoc bodies."""

    keyword: str  # upper-case
    flags: tuple[str, ...]  # ("--from=build", ...), quotes already removed by BuildKit
    words: tuple[str, ...]  # BuildKit's value: JSON items, (key, value, ...) for ENV and LABEL, words for FROM
    json: bool
    line: int
    end_line: int
    original: str  # the logical line, continuations joined (heredoc bodies included)
    heredocs: tuple[str, ...]  # the heredoc names
    sub_keyword: str | None  # ONBUILD's instruction

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
        """The instruction that covers `line` (or the last one before it), for mapping "Dockerfile:12" to text."""
        best: Instruction | None = None
        for stage in self.stages:
            for instruction in stage.instructions:
                if instruction.line <= line:
                    best = instruction
        return best

    def all_instructions(self) -> tuple[Instruction, ...]:
        return tuple(i for stage in self.stages for i in stage.instructions)


# ------------------------------------------------------------------------------------------- 1. tokenize
def tokenize(text: str) -> tuple[Node, ...]:
    """BuildKit's reading of `text`; its errors become a DockerfileError naming the line."""
    _check_characters(text)
    try:
        commands = buildkit.parse_string(text)
    except buildkit.GoParseError as error:
        raise _parse_error(text, str(error)) from None
    return tuple(_node(command) for command in commands)


def _node(command: buildkit.Command) -> Node:
    sub = command.sub_cmd
    return Node(
        keyword=str(command.cmd).upper(), flags=tuple(str(f) for f in command.flags),
        words=tuple(str(w) for w in command.value), json=bool(command.json), line=int(command.start_line),
        end_line=int(command.end_line), original=str(command.original),
        heredocs=tuple(str(h.name) for h in command.heredocs), sub_keyword=str(sub).upper() if sub else None,
    )


def _check_characters(text: str) -> None:
    """What the binding cannot carry: a NUL ends its C string early (the rest would vanish silently), and text
    that is not UTF-8 (a lone surrogate) crashes it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        line = text.count("\n", 0, error.start) + 1
        raise DockerfileError(f"Line {line} is not valid UTF-8 text. Save the Dockerfile as UTF-8.",
                              line=line) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DockerfileError(f"Line {line} contains a NUL byte; a Dockerfile is text. Delete the character.",
                              line=line)


#: The next step for BuildKit parser errors, by the start of BuildKit's message.
_PARSER_HINTS = {
    "ENV must have": "write `ENV NAME=value`",
    "LABEL must have": "write `LABEL key=value`",
    "invalid escape token": "`# escape=` takes a backslash or a backtick",
    "only one escape": "keep a single `# escape=` line",
    "dockerfile line greater than": "split the line with `\\` continuations",
    "unterminated heredoc": "end the heredoc with its closing word on a line of its own",
}


def _parse_error(text: str, message: str) -> DockerfileError:
    if message == _NO_INSTRUCTIONS:
        return DockerfileError("The Dockerfile has no FROM instruction (only blank lines and comments).")
    line = _failing_line(text, message)
    hint = next((hint for start, hint in _PARSER_HINTS.items() if message.startswith(start)),
                "fix that line: `docker build` refuses it too")
    return DockerfileError(f"Line {line}: {_show(message)}; {hint}.", line=line)


def _show(snippet: str, limit: int = 80) -> str:
    """Learner text quoted in a message: control characters escaped (a lone CR or an ANSI escape would garble
    or steer the terminal), cut at `limit`."""
    shown = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in snippet)
    return shown[:limit] + ("…" if len(shown) > limit else "")


def _failing_line(text: str, message: str) -> int:
    """The binding drops BuildKit's line: find the shortest prefix that fails with the same message (a binary
    search, as BuildKit stops at the first error, so every longer prefix fails the same way)."""
    lines = text.split("\n")  # "\n" only, as Go's scanner: a lone CR is not a line break
    low, high = 1, len(lines)
    while low < high:
        middle = (low + high) // 2
        if _fails_with("\n".join(lines[:middle]), message):
            high = middle
        else:
            low = middle + 1
    return low


def _fails_with(text: str, message: str) -> bool:
    try:
        buildkit.parse_string(text)
    except buildkit.GoParseError as error:
        return str(error) == message
    return False


# ------------------------------------------------------------------------------------------- 2. validate
def validate(nodes: tuple[Node, ...], dialect: Dialect = WORKSHOP_ENGINE) -> tuple[tuple[int, str], ...]:
    """Refuse what the dialect's engine refuses (DockerfileError with the line); return the BuildKit-only
    features used, as (line, what)."""
    features: list[tuple[int, str]] = []
    seen_from = False
    stage_names: set[str] = set()
    for node in nodes:
        _check_keyword(node, seen_from)
        features += _check_flags(node, dialect)
        _check_arguments(node)
        if node.heredocs:
            if not dialect.heredocs:
                _fail(node, f"the heredoc `<<{node.heredocs[0]}` needs Dockerfile frontend 1.4, and this engine's "
                            "BuildKit (v0.8) reads its body as instructions. Use RUN with `\\` continuations, or "
                            "COPY a script from the app folder")
            features.append((node.line, f"{node.keyword} heredoc (<<)"))
        if node.keyword == "FROM":
            seen_from = True
            name = node.words[2].lower() if len(node.words) == 3 else None
            if name is not None and name in stage_names:
                _fail(node, f"the stage name `{name}` is already used; give each stage its own name")
            stage_names |= {name} if name else set()
            if any(_BUILD_PLATFORM_ARGS.search(flag) for flag in node.flags):
                features.append((node.line, "FROM --platform=$BUILDPLATFORM"))
    return tuple(features)


def _fail(node: Node, message: str) -> NoReturn:
    lone_cr = " (a carriage return without a line feed is not a line break for Docker: save the file with LF " \
              "line endings)" if "\r" in node.original.replace("\r\n", "") else ""
    raise DockerfileError(f"Line {node.line}: {message}{lone_cr}.", line=node.line)


def _check_keyword(node: Node, seen_from: bool) -> None:
    if node.keyword not in KNOWN_INSTRUCTIONS:
        word = node.original.split(None, 1)[0] if node.original.strip() else node.keyword
        _fail(node, f"unknown instruction `{_show(word, 40)}`. Valid ones: {', '.join(sorted(KNOWN_INSTRUCTIONS))}")
    if not seen_from and node.keyword not in {"FROM", "ARG"}:
        _fail(node, f"`{node.keyword}` comes before any FROM. A Dockerfile starts with FROM (ARG may precede it)")
    if node.keyword == "ONBUILD" and node.sub_keyword is not None:
        if node.sub_keyword in {"FROM", "ONBUILD", "MAINTAINER"}:
            _fail(node, f"ONBUILD {node.sub_keyword} is not allowed")
        if node.sub_keyword not in KNOWN_INSTRUCTIONS:
            _fail(node, f"unknown instruction `{_show(node.sub_keyword, 40)}` after ONBUILD")


def _check_flags(node: Node, dialect: Dialect) -> list[tuple[int, str]]:
    features = []
    keyword = node.sub_keyword if node.keyword == "ONBUILD" and node.sub_keyword else node.keyword
    for flag in node.flags:
        name = flag[2:].split("=", 1)[0]
        if name not in dialect.flags.get(keyword, frozenset()):
            _fail(node, f"this engine's Dockerfile frontend has no `{keyword} --{_show(name, 40)}`; remove the flag "
                        f"(flags it knows for {keyword}: "
                        f"{', '.join(sorted(dialect.flags.get(keyword, ()))) or 'none'})")
        if f"{keyword} --{name}" in dialect.buildkit_only_flags:
            features.append((node.line, f"{keyword} --{name}"))
    return features


def _check_arguments(node: Node) -> None:
    """The argument rules of BuildKit's instructions.Parse (FROM's own are in _from_header)."""
    words = node.words
    if node.keyword in _NEED_ARGUMENTS and not any(word.strip() for word in words):
        _fail(node, f"{node.keyword} needs an argument")
    elif node.keyword in {"COPY", "ADD"} and len(words) < 2:
        _fail(node, f"{node.keyword} needs a source and a destination, e.g. `{node.keyword} package.json ./`")
    elif node.keyword == "SHELL" and not (node.json and words):
        _fail(node, 'SHELL takes the JSON form, e.g. SHELL ["/bin/bash", "-c"]')
    elif node.keyword == "HEALTHCHECK":
        kind = words[0].upper() if words else ""
        if kind not in {"CMD", "NONE"} or (kind == "NONE" and len(words) > 1) or (kind == "CMD" and len(words) < 2):
            _fail(node, "HEALTHCHECK takes `NONE` or `[OPTIONS] CMD command`")


def _check_directives(text: str, dialect: Dialect) -> None:
    """`# syntax=` makes BuildKit pull its frontend from a registry before reading a line, which fails offline."""
    if dialect.syntax_directive:
        return
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            return
        if match.group(1).lower() == "syntax":
            raise DockerfileError(
                f"Line {number}: `{_show(raw.strip())}` asks BuildKit to fetch a Dockerfile frontend image from a "
                "registry, and this workshop builds offline. Delete that line: the engine's built-in frontend "
                "reads the rest.", line=number)


# ------------------------------------------------------------------------------------------- 3. the model
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


def _from_header(node: Node, global_args: dict[str, str]) -> tuple[str, str | None]:
    """(image, stage name) of `FROM image [AS name]`, rejecting what Docker rejects."""
    words, line = node.words, node.line
    if not words:
        _fail(node, "FROM needs an image, e.g. `FROM node:20-slim`")
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
        _fail(node, f"FROM takes an image and optionally `AS name` (`FROM node:20-slim AS build`), not "
                    f"`{_show(node.args)}`")
    image = _substitute(words[0], global_args)
    if ("$" not in image and not IMAGE_REFERENCE.match(image)) or image.count('"') % 2 or image.count("'") % 2:
        raise DockerfileError(f"Line {line}: `{_show(image)}` is not a valid image name (lower-case name, optional "
                              f":tag, no quotes), e.g. `FROM python:3.11-slim`.", line=line)
    name = words[2].lower() if len(words) == 3 else None
    if name is not None and not _STAGE_NAME.match(name):
        _fail(node, f"stage name `{_show(words[2], 40)}` is invalid: start with a letter, then letters, digits, "
                    "`-`, `_` or `.`")
    return image, name


def _stages(nodes: tuple[Node, ...]) -> tuple[Stage, ...]:
    """Group the instructions under their FROM; ARG defaults before the first FROM fill in FROM's image."""
    stages: list[Stage] = []
    current: list[Instruction] = []
    header: tuple[str, str | None, int] | None = None
    global_args: dict[str, str] = {}
    for node in nodes:
        if node.keyword == "FROM":
            if header is not None:
                stages.append(Stage(len(stages), header[0], header[1], header[2], tuple(current)))
            header, current = (*_from_header(node, global_args), node.line), []
        elif header is None:  # validate() let only ARG come before FROM
            name, _, default = node.args.partition("=")
            global_args[name.strip()] = default.strip().strip('"\'')
        else:
            current.append(Instruction(node.keyword, node.args, node.flags, node.line, len(stages), node.end_line))
    if header is None:
        raise DockerfileError("The Dockerfile has no FROM instruction.")
    stages.append(Stage(len(stages), header[0], header[1], header[2], tuple(current)))
    return tuple(stages)


def parse_dockerfile(text: str, dialect: Dialect = WORKSHOP_ENGINE) -> DockerfileInfo:
    """Parse `text`; raise DockerfileError naming the line for anything the dialect's engine would refuse."""
    if not text.removeprefix("\ufeff").strip():
        raise DockerfileError("The Dockerfile is empty. Start from the exercise's Dockerfile (`workshop reset APP`).")
    _check_directives(text, dialect)
    nodes = tokenize(text)
    features = validate(nodes, dialect)
    return DockerfileInfo(text=text, stages=_stages(nodes), buildkit_features=features)


# ------------------------------------------------------------------------------------------- editing
def replace_instruction(text: str, keyword: str, new_instruction: str, dialect: Dialect = WORKSHOP_ENGINE) -> str:
    """`text` with each `keyword` instruction (its continuations, comments and heredoc bodies included) replaced
    by `new_instruction`. The file's line endings and BOM are kept, and the result must parse, so an edit never
    hands back a Dockerfile the engine would refuse."""
    parse_dockerfile(text, dialect)
    nodes = [node for node in tokenize(text) if node.keyword == keyword.upper()]
    if not nodes:
        raise DockerfileError(f"The Dockerfile has no {keyword.upper()} instruction to replace.")
    lines = text.split("\n")
    for node in reversed(nodes):  # bottom-up, so the line numbers above stay valid
        first, last = lines[node.line - 1], lines[node.end_line - 1]
        ending = "\r" if last.endswith("\r") else ""
        bom = "\ufeff" if node.line == 1 and first.startswith("\ufeff") else ""
        block = [line + ending for line in new_instruction.replace("\r\n", "\n").rstrip("\n").split("\n")]
        block[0] = bom + block[0]
        lines[node.line - 1:node.end_line] = block
    result = "\n".join(lines)
    parse_dockerfile(result, dialect)
    return result
