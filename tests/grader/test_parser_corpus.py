"""The grader's Dockerfile parser agrees with Docker on every file of tests/grader/dockerfile_corpus/.

Docker's verdicts were recorded from the real engine (classic builder and BuildKit) into verdicts.toml by
dockerfile_verdicts.py, so these tests need no engine; the one `docker` test re-asks the engine about a
few cases so that the recorded data cannot rot silently.

What agreeing means, per file:
- the classic builder accepts it      -> the grader parses it and flags no BuildKit-only syntax;
- only BuildKit accepts it            -> the grader parses it and flags `buildkit_features`;
- both reject it                      -> the grader raises DockerfileError, with a line when Docker names one;
- in every case                       -> never any exception but DockerfileError.
Where verdicts.toml gives `expect`, the project is stricter than this engine on purpose (the note says why):
duplicate stage names (BuildKit v0.8 builds them, the classic builder does not), `# syntax=` (a frontend
image from a registry: never buildable offline, so the grader refuses it up front) and a NUL byte (the parser
binding would drop the rest of the file).
"""

from __future__ import annotations

import pytest
from dockerfile_verdicts import (
    BACKENDS,
    CORPUS,
    corpus_names,
    engine_verdict,
    load_verdicts,
)

from grader.dockerfile import DockerfileInfo, parse_dockerfile
from grader.errors import DockerfileError

CASES = load_verdicts()

def expected(case: dict[str, object]) -> str:
    """What the grader should do with a file: "parse", "flag" (parse + BuildKit-only), "reject" or "no-crash"."""
    if "expect" in case:  # the project is stricter than this engine's BuildKit, for the reason in the note
        return str(case["expect"])
    verdicts = {backend: case[backend] for backend in BACKENDS}
    if verdicts["classic"] == "accept":
        return "parse"
    if verdicts["buildkit"] == "accept":
        return "flag"
    if "not-built" in verdicts.values():
        return "no-crash"  # a parse-only case: no complete verdict to agree with
    return "reject"


def docker_line(case: dict[str, object]) -> int | None:
    """The line Docker's error names, if it names one."""
    lines = [case.get(f"{backend}_line") for backend in BACKENDS]
    named = [line for line in lines if isinstance(line, int)]
    return min(named) if named else None


def _parse(name: str) -> DockerfileInfo | DockerfileError:
    """Parse a corpus file as the grader reads one (UTF-8 text); return the DockerfileError it raises."""
    text = (CORPUS / f"{name}.Dockerfile").read_bytes().decode("utf-8")
    try:
        return parse_dockerfile(text)
    except DockerfileError as error:
        return error
    except Exception as error:  # noqa: BLE001 - anything else is the bug this test is for
        pytest.fail(f"{name}: parse_dockerfile raised {type(error).__name__}: {error} (only DockerfileError "
                    "may escape)", pytrace=False)


def test_the_corpus_is_complete() -> None:
    names = corpus_names()
    assert len(names) >= 30
    assert sorted(CASES) == names, "every corpus file needs a recorded verdict (run dockerfile_verdicts.py)"
    assert all(expected(case) in {"parse", "flag", "reject", "no-crash"} for case in CASES.values())


@pytest.mark.parametrize("name", corpus_names())
def test_the_grader_agrees_with_docker(name: str) -> None:
    case = CASES[name]
    outcome = _parse(name)
    want = expected(case)
    said = f"classic: {case['classic_says']} | buildkit: {case['buildkit_says']}"
    if want == "reject":
        assert isinstance(outcome, DockerfileError), f"Docker rejects {name} ({said}); the grader parsed it"
        line = docker_line(case)
        if line is not None:
            assert outcome.line is not None and 1 <= outcome.line <= line, (
                f"Docker names line {line}; the grader said line {outcome.line}: {outcome.message}")
    elif want in {"parse", "flag"}:
        assert isinstance(outcome, DockerfileInfo), f"Docker accepts {name} ({said}); the grader: {outcome}"
        if want == "flag":
            assert outcome.buildkit_features, f"only BuildKit accepts {name} ({said}); the grader flags nothing"
        else:
            assert not outcome.buildkit_features, (
                f"the classic builder accepts {name}; the grader flags {outcome.buildkit_features}")


#: A few recorded verdicts re-asked of the real engine: one of each kind, the BOM and the blank continuation.
RECHECK = ("13-utf8-bom", "15-blank-line-in-continuation", "24-unknown-instruction", "31-copy-chmod",
           "35-heredoc-run")


@pytest.mark.docker
def test_recorded_verdicts_match_the_engine_today(docker_client: object) -> None:
    """Builds five tiny corpus files with both back ends (~15 s); a change of engine shows up here."""
    differences = []
    for name in RECHECK:
        for backend in BACKENDS:
            now = engine_verdict(name, backend)
            if now.verdict != CASES[name][backend]:
                differences.append(f"{name} {backend}: recorded {CASES[name][backend]}, now {now.verdict}: "
                                   f"{now.detail}")
    assert not differences, "re-record with `python tests/grader/dockerfile_verdicts.py`:\n" + "\n".join(differences)
