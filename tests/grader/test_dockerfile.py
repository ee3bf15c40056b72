"""The Dockerfile parser: stages, final USER, line numbers, BuildKit-only syntax, syntax errors."""

from __future__ import annotations

import pytest

from grader.dockerfile import parse_dockerfile
from grader.errors import DockerfileError

MULTI = """# syntax=docker/dockerfile:1
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
    assert run.keyword == "RUN" and run.line == 5 and "npm run build" in run.args


def test_final_user_and_base_follow_the_final_stage() -> None:
    info = parse_dockerfile(MULTI)
    assert info.final_user == "node:node" and info.final_base == "node:20-slim"
    copy = info.final_stage.instructions[1]
    assert copy.flag("from") == "build" and copy.flag("chown") == "node"


def test_instruction_at_maps_a_line_inside_a_continuation() -> None:
    assert parse_dockerfile(MULTI).instruction_at(6).keyword == "RUN"  # type: ignore[union-attr]


@pytest.mark.parametrize("text,feature", [
    ("FROM a\nRUN --mount=type=cache,target=/root/.npm npm ci\n", "RUN --mount"),
    ("FROM a\nCOPY --chmod=755 run.sh /\n", "COPY --chmod"),
    ("FROM a\nCOPY --link . .\n", "COPY --link"),
    ("FROM a\nRUN <<EOF\necho hi\nUSER weird\nEOF\nCMD x\n", "RUN heredoc (<<)"),
])
def test_buildkit_only_syntax_is_found_with_its_line(text: str, feature: str) -> None:
    info = parse_dockerfile(text)
    assert info.buildkit_features[0] == (2, feature)


def test_heredoc_bodies_are_not_parsed_as_instructions() -> None:
    info = parse_dockerfile("FROM a\nRUN <<EOF\necho hi\nnot an instruction\nEOF\nUSER app\n")
    assert info.final_user == "app"


@pytest.mark.parametrize("text,message", [
    ("", "empty"), ("  \n# only a comment\n", "no FROM"), ("RUN x\n", "before any FROM"),
    ("FROM a\nRUNN x\n", "Line 2: unknown instruction"), ("FROM\n", "FROM needs an image"),
])
def test_syntax_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=message):
        parse_dockerfile(text)
