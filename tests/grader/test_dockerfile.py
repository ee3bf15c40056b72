"""The Dockerfile parser: stages, final USER, line numbers, BuildKit-only syntax, what this engine refuses,
syntax errors, and editing through the parser (replace_instruction)."""

from __future__ import annotations

import re

import pytest

from grader.dockerfile import Dialect, parse_dockerfile, replace_instruction
from grader.errors import DockerfileError

MULTI = """# escape=\\
ARG NODE=20
FROM node:${NODE} AS Build
WORKDIR /app
RUN npm ci \\
    && npm run build
FROM build AS test
RUN npm test
FROM node:20-slim
USER node:node
COPY --from=build --chown=node /app/dist ./dist
CMD ["node", "dist/main.js"]
"""


def test_stages_names_and_lines() -> None:
    info = parse_dockerfile(MULTI)
    assert [(s.name, s.base, s.line) for s in info.stages] == [
        ("build", "node:20", 3), ("test", "build", 7), (None, "node:20-slim", 9)]
    run = info.stages[0].instructions[1]
    assert run.keyword == "RUN" and (run.line, run.end_line) == (5, 6) and "npm run build" in run.args


def test_final_user_and_base_follow_the_final_stage() -> None:
    info = parse_dockerfile(MULTI)
    assert info.final_user == "node:node" and info.final_base == "node:20-slim"
    copy = info.final_stage.instructions[1]
    assert copy.flag("from") == "build" and copy.flag("chown") == "node"
    assert copy.args == "/app/dist ./dist"


def test_instruction_at_maps_a_line_inside_a_continuation() -> None:
    assert parse_dockerfile(MULTI).instruction_at(6).keyword == "RUN"  # type: ignore[union-attr]


@pytest.mark.parametrize("text,feature", [
    ("FROM a\nRUN --mount=type=cache,target=/root/.npm npm ci\n", (2, "RUN --mount")),
    ("FROM a\nCOPY --chmod=755 run.sh /\n", (2, "COPY --chmod")),
    ("FROM --platform=$BUILDPLATFORM a\nRUN true\n", (1, "FROM --platform=$BUILDPLATFORM")),
])
def test_buildkit_only_syntax_is_found_with_its_line(text: str, feature: tuple[int, str]) -> None:
    assert parse_dockerfile(text).buildkit_features[0] == feature


def test_the_classic_builder_syntax_is_not_flagged() -> None:
    assert parse_dockerfile("FROM --platform=linux/amd64 a\nCOPY --from=0 --chown=1:1 x y\n").buildkit_features == ()


@pytest.mark.parametrize("text,message", [
    # This engine's BuildKit (v0.8) has no heredocs: it reads the body as instructions (so does the classic builder).
    ("FROM a\nRUN <<EOF\necho hi\nUSER weird\nEOF\nCMD x\n", "Line 2: the heredoc `<<EOF` needs"),
    # Flags of newer frontends: "Unknown flag" on both back ends here.
    ("FROM a\nCOPY --link . .\n", "Line 2: this engine's Dockerfile frontend has no `COPY --link`"),
    ("FROM a\nRUN --network=none true\n", "has no `RUN --network`"),
    ("FROM a\nHEALTHCHECK --start-interval=1s CMD true\n", "has no `HEALTHCHECK --start-interval`"),
    # A frontend image from a registry: never offline.
    ("# syntax=docker/dockerfile:1\nFROM a\n", "Line 1: `# syntax=docker/dockerfile:1` asks BuildKit to fetch"),
    ("\ufeff#syntax = docker/dockerfile:1.4\nFROM a\n", "Line 1: `#syntax = docker/dockerfile:1.4`"),
])
def test_what_this_engine_cannot_build_is_refused_up_front(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=re.escape(message)):
        parse_dockerfile(text)


def test_a_syntax_line_after_the_directives_is_only_a_comment() -> None:
    assert parse_dockerfile("FROM a\n# syntax=docker/dockerfile:1\nRUN true\n").final_stage.instructions


def test_a_newer_dialect_takes_heredocs_as_buildkit_only_and_skips_their_bodies() -> None:
    info = parse_dockerfile("FROM a\nRUN <<EOF\necho hi\nnot an instruction\nEOF\nUSER app\n", Dialect(heredocs=True))
    assert info.buildkit_features == ((2, "RUN heredoc (<<)"),) and info.final_user == "app"


def test_lines_come_from_buildkit_with_a_bom_crlf_and_blank_or_comment_lines_in_a_continuation() -> None:
    text = "\ufeff# a comment\r\nFROM a\r\nRUN one \\\r\n\r\n  # note\r\n  two\r\nUSER app\r\n"
    info = parse_dockerfile(text)
    run, user = info.final_stage.instructions
    assert (run.line, run.end_line, user.line) == (3, 6, 7) and run.args.split() == ["one", "two"]
    assert info.final_user == "app"


@pytest.mark.parametrize("text,message", [
    ("", "empty"), ("  \n# only a comment\n", "no FROM"), ("RUN x\n", "before any FROM"),
    ("FROM a\nRUNN x\n", "Line 2: unknown instruction"), ("FROM\n", "FROM needs an image"),
    ("FROM a\nENV A\n", "Line 2: ENV must have two arguments"), ("FROM a\nRUN ok\nEXPOSE\n", "Line 3: EXPOSE needs"),
    ("FROM a\nRUN x\x00\n", "Line 2 contains a NUL byte"), ("FROM a\nRUN \ud800\n", "Line 2 is not valid UTF-8"),
    ("FROM a\r# c\rRUN x\n", "not a line break for Docker"),
    ("FROM a\nRUN " + "x" * 70_000 + "\nUSER u\n", "Line 2: dockerfile line greater than max allowed size"),
    ("FROM a\n\x1b[31mRUN x\n", r"unknown instruction `\x1b[31mRUN`"),
])
def test_syntax_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=re.escape(message)):
        parse_dockerfile(text)


# ---------------------------------------------------------------- replace_instruction

NEW = "HEALTHCHECK --interval=5s --timeout=2s CMD true"


def test_replace_instruction_swaps_the_whole_instruction() -> None:
    text = "FROM x\nHEALTHCHECK --interval=5s \\\n  CMD node -e 'x'\nCMD [\"node\"]\n"
    assert replace_instruction(text, "HEALTHCHECK", "HEALTHCHECK CMD true") == \
        "FROM x\nHEALTHCHECK CMD true\nCMD [\"node\"]\n"


@pytest.mark.parametrize("inside", ["  # the probe\n", "\n"])
def test_replace_instruction_takes_comment_and_blank_lines_inside_the_continuation(inside: str) -> None:
    """Bug 1 of the old line scanner: it stopped at the comment (or blank line) and left `  CMD true` behind,
    which became a new CMD and silently changed the image's command."""
    text = f"FROM x\nHEALTHCHECK --interval=5s \\\n{inside}  CMD true\nCMD [\"node\"]\n"
    result = replace_instruction(text, "HEALTHCHECK", NEW)
    assert result == f"FROM x\n{NEW}\nCMD [\"node\"]\n"
    assert parse_dockerfile(result).final_stage.last("CMD").args == '["node"]'  # type: ignore[union-attr]


def test_replace_instruction_leaves_a_continuation_line_that_starts_with_the_keyword() -> None:
    """Bug 2: a RUN continuation line beginning with `healthcheck` was replaced, and the RUN broken."""
    text = "FROM x\nRUN echo \\\n  healthcheck-ready > /flag\nHEALTHCHECK CMD false\n"
    assert replace_instruction(text, "HEALTHCHECK", NEW) == \
        f"FROM x\nRUN echo \\\n  healthcheck-ready > /flag\n{NEW}\n"


def test_replace_instruction_keeps_crlf_and_the_bom() -> None:
    """Bug 3: CRLF files came back with LF line endings."""
    text = "\ufeffFROM x\r\nHEALTHCHECK \\\r\n  CMD false\r\nCMD [\"node\"]\r\n"
    assert replace_instruction(text, "healthcheck", NEW) == f"\ufeffFROM x\r\n{NEW}\r\nCMD [\"node\"]\r\n"


def test_replace_instruction_returns_the_solutions_unchanged_but_for_the_healthcheck() -> None:
    from grader.paths import SOLUTIONS_DIR

    paths = sorted(SOLUTIONS_DIR.glob("*/Dockerfile"))
    assert len(paths) == 3, paths
    for path in paths:
        text = path.read_text()
        result = replace_instruction(text, "HEALTHCHECK", NEW)
        healthcheck = parse_dockerfile(text).final_stage.last("HEALTHCHECK")
        assert healthcheck is not None
        lines = text.split("\n")
        assert result.split("\n") == lines[:healthcheck.line - 1] + [NEW] + lines[healthcheck.end_line:]


@pytest.mark.parametrize("text,new,message", [
    ("FROM x\n", NEW, "no HEALTHCHECK instruction to replace"),
    ("FROM x\nHEALTHCHECK NONE\n", "HEALTHCHECK --start-interval=1s CMD true", "has no `HEALTHCHECK --start"),
    ("FROM x\nRUNN x\nHEALTHCHECK NONE\n", NEW, "Line 2: unknown instruction"),
])
def test_replace_instruction_never_hands_back_a_dockerfile_the_engine_refuses(text: str, new: str,
                                                                              message: str) -> None:
    with pytest.raises(DockerfileError, match=re.escape(message)):
        replace_instruction(text, "HEALTHCHECK", new)
