"""The Dockerfile as the engine reads it: BuildKit's own parser, and the grader's layer on top.

    text --tokenize--> Node (BuildKit's AST: directives, BOM, CRLF, continuations, heredocs, start..end lines)
         --validate--> what THIS engine's frontend refuses (a Dialect) and what only BuildKit builds
         --model-----> DockerfileInfo: stages, instructions with lines and flags, the final USER

Tokenizing is BuildKit's `frontend/dockerfile/parser` through the PyPI package `dockerfile`, so the grader reads
a file the way `docker build` does. The AST parser leaves keywords, flags and argument counts to BuildKit's
`instructions.Parse`; `validate` checks those, for the engine the workshop runs (Docker 20.10 with BuildKit v0.8:
no heredocs, no COPY --link, no RUN --network, no HEALTHCHECK --start-interval, and no `# syntax=` offline).
Flags are read again by grader/instruction_flags.py with the grammar of the engine's BuildKit (the binding drops
an ONBUILD trigger's flags, and newer BuildKits change the flag grammar), and ARGs in FROM are
expanded by grader/build_args.py as the builder expands them, so the image policy sees what the build uses.
`replace_instruction` is the one way the project edits a Dockerfile.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import NoReturn

import dockerfile as buildkit  # BuildKit's parser (a cgo binding); the wheel ships no type information

from grader.build_args import ExpansionError, MetaArgs
from grader.dockerfile_model import WORKSHOP_ENGINE, Dialect, DockerfileInfo, Instruction, Node, Stage
from grader.errors import DockerfileError
from grader.instruction_flags import (
    FlagError,
    check_flag_words,
    flag_pairs,
    onbuild_expression,
    parse_mount,
    source_names,
    split_flags,
)

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
    sub, original = command.sub_cmd, str(command.original)
    node = Node(
        keyword=str(command.cmd).upper(), flags=split_flags(original),
        words=tuple(str(w) for w in command.value), json=bool(command.json), line=int(command.start_line),
        end_line=int(command.end_line), original=original,
        heredocs=tuple(str(h.name) for h in command.heredocs), sub_keyword=str(sub).upper() if sub else None,
    )
    return replace(node, trigger=_trigger(node)) if node.keyword == "ONBUILD" and sub else node


def _trigger(node: Node) -> Node:
    """ONBUILD's instruction as the builder reads it when a stage starts FROM this one: the line without
    `ONBUILD`, parsed again on its own (so with the default escape token), with its own flags."""
    expression = onbuild_expression(node.original)
    try:
        commands = buildkit.parse_string(expression)
    except buildkit.GoParseError as error:
        _fail(node, f"its trigger `{_show(expression)}` does not parse: {_show(str(error))}")
    if len(commands) != 1:
        _fail(node, "an ONBUILD trigger must be a single instruction")
    return replace(_node(commands[0]), line=node.line, end_line=node.end_line)


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
    """BFlags' refusals, for the instruction and an ONBUILD's trigger; `RUN --mount` values parse as BuildKit
    parses them. Returns the BuildKit-only flags used."""
    features = []
    for keyword, flags in ((node.keyword, node.flags), *(((node.trigger.keyword, node.trigger.flags),)
                                                         if node.trigger else ())):
        try:
            check_flag_words(keyword, flags, dialect.flags)
            for value in (v for name, v in flag_pairs(flags) if name == "mount" and v is not None):
                parse_mount(value)
            source_names(keyword, flags)
        except FlagError as error:
            _fail(node, _show(str(error), 300))
        features += [(node.line, f"{keyword} --{name}") for name, _ in flag_pairs(flags)
                     if f"{keyword} --{name}" in dialect.buildkit_only_flags]
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
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)"
#: Docker's image reference grammar (distribution/reference): [domain/]name[:tag][@digest].
IMAGE_REFERENCE = re.compile(
    rf"^{_DOMAIN}?{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


def _from_header(node: Node, global_args: MetaArgs) -> tuple[str, str | None]:
    """(image, stage name) of `FROM image [AS name]`, rejecting what Docker rejects."""
    words, line = node.words, node.line
    if not words:
        _fail(node, "FROM needs an image, e.g. `FROM node:20-slim`")
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
        _fail(node, f"FROM takes an image and optionally `AS name` (`FROM node:20-slim AS build`), not "
                    f"`{_show(node.args)}`")
    try:
        image = global_args.expand(words[0])
    except ExpansionError as error:
        _fail(node, f"the image `{_show(words[0])}` cannot be resolved as the builder resolves it: "
                    f"{_show(str(error), 200)}")
    if not image:
        _fail(node, f"`{_show(words[0])}` names no image: FROM sees only the ARGs declared before the first FROM "
                    "(an ARG inside a stage is not one of them); declare it there, with a value")
    if not IMAGE_REFERENCE.match(image):
        raise DockerfileError(f"Line {line}: `{_show(image)}` is not a valid image name (lower-case name, optional "
                              f":tag, no quotes), e.g. `FROM python:3.11-slim`.", line=line)
    name = words[2].lower() if len(words) == 3 else None
    if name is not None and not _STAGE_NAME.match(name):
        _fail(node, f"stage name `{_show(words[2], 40)}` is invalid: start with a letter, then letters, digits, "
                    "`-`, `_` or `.`")
    return image, name


def _instruction(node: Node, stage: int) -> Instruction:
    trigger = _instruction(node.trigger, stage) if node.trigger else None
    return Instruction(node.keyword, node.args, node.flags, node.line, stage, node.end_line, trigger)


def _escape_token(text: str) -> str:
    """The `# escape=` directive's token (a backslash by default), which BuildKit's word expansion uses."""
    for raw in text.removeprefix("\ufeff").split("\n"):
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("`", "\\"):
            return match.group(2)
    return "\\"


def _stages(nodes: tuple[Node, ...], escape: str) -> tuple[Stage, ...]:
    """Group the instructions under their FROM; ARGs before the first FROM fill in FROM's image as the builder
    expands them."""
    stages: list[Stage] = []
    current: list[Instruction] = []
    header: tuple[str, str | None, int] | None = None
    global_args = MetaArgs(escape)
    for node in nodes:
        if node.keyword == "FROM":
            if header is not None:
                stages.append(Stage(len(stages), header[0], header[1], header[2], tuple(current)))
            header, current = (*_from_header(node, global_args), node.line), []
        elif header is None:  # validate() let only ARG come before FROM
            try:
                global_args.declare(node.words)
            except ExpansionError as error:
                _fail(node, _show(str(error), 200))
        else:
            current.append(_instruction(node, len(stages)))
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
    return DockerfileInfo(text=text, stages=_stages(nodes, _escape_token(text)), buildkit_features=features)


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
