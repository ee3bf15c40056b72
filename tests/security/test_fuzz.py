"""Property-based fuzz of everything that runs before a build: no exception but the grader's own GradeError.

Generated Dockerfiles (a grammar of instructions, flags, stages, heredocs, continuations, directives, quotes,
BOMs, CRLFs and control characters), mutated real ones (the reference solutions with bytes deleted, inserted,
flipped, lines duplicated or swapped; the bytes need not be UTF-8) and generated .dockerignore files go through
the same steps `grade()` takes before it builds: the safe read of both files, the parser, the class allow list,
the image references, the context assembly with the ignore rules, hadolint's finding filter and the checks
that run on a Dockerfile alone. 1,700 cases in all (600 + 600 + 500).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.api import _read_dockerfile, _read_dockerignore
from grader.context import assemble_context
from grader.errors import GradeError
from grader.image_policy import check_allowed, external_images
from grader.lint import filter_findings
from grader.paths import SOLUTIONS_DIR
from grader.registry import Evidence, evaluate
from grader.settings import load_settings

EXERCISE = "fastapi"
SETTINGS = load_settings(EXERCISE)
COUNT = {"cases": 0, "built_context": 0, "graded_checks": 0}
_WORK = Path(tempfile.mkdtemp(prefix="workshop-fuzz-"))
APP = _WORK / "app"
for name, body in {"main.py": "print('hi')\n", "requirements.txt": "fastapi\n", "tests/test_x.py": "",
                   "node_modules/pkg/index.js": "", ".env": "SECRET=1\n"}.items():
    (APP / name).parent.mkdir(parents=True, exist_ok=True)
    (APP / name).write_text(body)
SUBMISSION = _WORK / "submission"
SUBMISSION.mkdir()

FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def front_end(dockerfile: bytes, dockerignore: bytes | None) -> None:
    """What grade() does before the build, on files written the way a learner would hand them in."""
    COUNT["cases"] += 1
    (SUBMISSION / "Dockerfile").write_bytes(dockerfile)
    ignore = SUBMISSION / ".dockerignore"
    if dockerignore is None:
        ignore.unlink(missing_ok=True)
    else:
        ignore.write_bytes(dockerignore)
    try:
        path, text = _read_dockerfile(EXERCISE, SUBMISSION / "Dockerfile")
        ignore_text = _read_dockerignore(path, None)
        from grader.dockerfile import parse_dockerfile

        info = parse_dockerfile(text)
        external_images(info)
        try:
            check_allowed(info, SETTINGS.allowed_bases)
        except GradeError:
            pass  # refused in class mode; the rest still runs in self-paced mode
        context = assemble_context(APP, text, ignore_text)
        context.tar.close()
        COUNT["built_context"] += 1
        findings = [{"code": "DL3002", "line": line, "message": "m"} for line in range(0, 5)]
        filter_findings(findings, info)  # type: ignore[arg-type]
        evaluate(Evidence(settings=SETTINGS, dockerfile=info, build_error="fuzz"))
        COUNT["graded_checks"] += 1
    except GradeError as error:
        assert error.message and isinstance(error.kind, str)


# ---------------------------------------------------------------- generated Dockerfiles

_ODD = st.sampled_from(["\"", "'", "$", "${", "}", "\\", "`", "<<", "<<EOF", "<<-'X'", "--", "=", ",", "#", "\t",
                        "\r", "\x00", "\x1b[31m", "\ufeff", "é", "\ud7ff", " ", "AS", "as", "from=", "\n"])
_WORD = st.one_of(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./:@", min_size=0, max_size=12), _ODD)
_ARGS = st.lists(_WORD, max_size=8).map(" ".join)
_IMAGES = st.sampled_from(["python:3.11-slim", "node:20", "debian:bookworm-slim", "scratch", "builder", "0", "1",
                           "Node:20", '"node:20', "node:${V}", "$BASE", "docker.io/library/python:3.11",
                           "docker-diet-workshop/fastapi:graded", "a@sha256:" + "0" * 64, "", "x" * 300])
_KEYWORDS = st.sampled_from(["FROM", "RUN", "COPY", "ADD", "ARG", "ENV", "USER", "WORKDIR", "CMD", "ENTRYPOINT",
                             "HEALTHCHECK", "EXPOSE", "LABEL", "SHELL", "ONBUILD", "run", "From", "RUNN", "", "#"])
_FLAGS = st.sampled_from(["", "--from=builder", "--from=0", "--from=node:20", "--from=", "--chown=1000:1000",
                          "--mount=type=cache,target=/root/.cache", "--mount=type=bind,from=node:20,target=/n",
                          "--mount=from=\"x\"", "--link", "--chmod=755", "--network=none", "--platform=$X"])


@st.composite
def _line(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 6))
    if kind == 0:
        name = draw(st.sampled_from(["", " AS builder", " AS b", " as 0bad", " AS", " AS a b"]))
        return f"FROM {draw(_IMAGES)}{name}"
    if kind == 1:
        return f"{draw(_KEYWORDS)} {draw(_FLAGS)} {draw(_ARGS)}"
    if kind == 2:
        return f"RUN {draw(_ARGS)} \\"  # a continuation, maybe the last line
    if kind == 3:
        return draw(st.sampled_from(["", "   ", "# comment", "# escape=`", "# syntax=docker/dockerfile:1"]))
    if kind == 4:
        return f"RUN <<EOF\n{draw(_ARGS)}\nEOF"
    if kind == 5:
        return f"ARG {draw(_WORD)}={draw(_IMAGES)}"
    return draw(st.text(max_size=40))


@st.composite
def generated_dockerfile(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(_line(), min_size=0, max_size=14))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (bom + newline.join(lines)).encode("utf-8", "surrogatepass")


_IGNORE_LINE = st.one_of(
    st.sampled_from(["node_modules", "**/*.log", "!keep.txt", "[z-a]", "a\\", "\\", "!", "/", "..", "../..",
                     "[", "]", "**", "*/**/", "#c", "", "  tests  ", ".env*", "[!a-z]", "{a,b}", "\\[x", "a[b-]c"]),
    st.text(alphabet="ab*?[]!\\/.-^ ", max_size=10),
)


@st.composite
def generated_ignore(draw: st.DrawFn) -> bytes | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    lines = draw(st.lists(_IGNORE_LINE, max_size=10))
    return draw(st.sampled_from(["", "\ufeff"])).encode() + "\n".join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(generated_dockerfile(), generated_ignore())
def test_generated_dockerfiles_raise_only_grade_errors(dockerfile: bytes, dockerignore: bytes | None) -> None:
    front_end(dockerfile, dockerignore)


# ---------------------------------------------------------------- mutated real Dockerfiles

_SEEDS = [p.read_bytes() for p in sorted(SOLUTIONS_DIR.glob("*/Dockerfile"))]
_IGNORE_SEEDS = [p.read_bytes() for p in sorted(SOLUTIONS_DIR.glob("*/Dockerfile.dockerignore"))]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 4))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == 0 and data:
            del data[at:at + draw(st.integers(1, 40))]
        elif op == 1:
            data[at:at] = draw(st.binary(max_size=12) | _ODD.map(lambda s: s.encode("utf-8", "surrogatepass")))
        elif op == 2 and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == 3:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[i])
            data = bytearray(b"\n".join(lines))
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@FUZZ
@given(mutated(_SEEDS), st.one_of(st.none(), mutated(_IGNORE_SEEDS)))
def test_mutated_solutions_raise_only_grade_errors(dockerfile: bytes, dockerignore: bytes | None) -> None:
    front_end(dockerfile, dockerignore)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(generated_ignore().filter(lambda b: b is not None), st.sampled_from(_SEEDS))
def test_generated_dockerignores_raise_only_grade_errors(dockerignore: bytes, dockerfile: bytes) -> None:
    front_end(dockerfile, dockerignore)


def test_zz_report_the_case_count() -> None:
    """Runs last in this module: the number of cases the three properties above fed the front end."""
    print(f"\nfuzz cases through the front end: {COUNT}")
    if COUNT["cases"]:  # 0 when this test is run alone
        assert COUNT["cases"] >= 1000
        assert COUNT["graded_checks"] >= COUNT["cases"] // 10, "the generators must reach past the parser too"
