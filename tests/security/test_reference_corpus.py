"""The grader's reading of image references against what the engine's builders did, recorded (no engine needed).

reference_corpus.json is written by record_reference_corpus.py on the workshop's engine (Docker 20.10: the classic
builder and BuildKit v0.8 through buildx), driving the builders directly. For each generated Dockerfile and back
end it holds the marker each case copied, i.e. the image the builder really used; for spellings the builder
refuses, that it refused. Here the grader must read the same references, and refuse what the builder refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_cases import grader_reading

from grader.dockerfile import parse_dockerfile
from grader.errors import DockerfileError

RECORDS = json.loads(Path(__file__).with_name("reference_corpus.json").read_text())
BUILT = [r for r in RECORDS if "refused_as" not in r]
REFUSED = [r for r in RECORDS if "refused_as" in r]


def test_the_corpus_is_large_and_every_generated_dockerfile_built() -> None:
    cases = sum(len(r["used"] or {}) for r in BUILT)
    print(f"\nreference corpus: {len(BUILT)} builds, {cases} recorded references, {len(REFUSED)} refusals")
    assert cases >= 100 and {r["backend"] for r in BUILT} == {"classic", "buildx"}
    assert all(r["used"] is not None for r in BUILT), "a generated spelling failed to build: fix the generator"


@pytest.mark.parametrize("record", BUILT, ids=[f"{r['backend']}-{n}" for n, r in enumerate(BUILT)])
def test_the_grader_reads_the_references_the_builder_used(record: dict[str, object]) -> None:
    assert grader_reading(str(record["dockerfile"])) == record["used"]


@pytest.mark.parametrize("record", REFUSED, ids=lambda r: f"{r['refused_as']}-{r['backend']}")
def test_what_the_builder_refuses_the_grader_refuses(record: dict[str, object]) -> None:
    with pytest.raises(DockerfileError, match=r"^Line \d+: "):
        parse_dockerfile(str(record["dockerfile"]))
    assert record["used"] is None, "the builder built what the grader refuses"
