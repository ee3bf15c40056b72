"""Record what the engine's builders use and refuse, for the pure reference corpus (reference_corpus.json).

    .venv/bin/python tests/security/record_reference_corpus.py [DOCKERFILES]

Writes, for DOCKERFILES generated case Dockerfiles (reference_cases.py, a fixed seed) and for the fixed spellings
the grader refuses (test_image_references.REFUSED), what each back end did: the marker each case copied, or that
the build failed. The builders are driven directly (the docker API for the classic builder, `docker buildx build`
for BuildKit), not through the grader, so the record is the builder's word. test_reference_corpus.py then checks
the grader's reading against it without an engine. Tags and markers are this script's own and removed.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import docker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from reference_cases import (  # noqa: E402
    MARKERS,
    Case,
    build_markers,
    builder_reading,
    copy_case,
    dockerfile,
    from_case,
    mount_case,
)
from test_image_references import REFUSED  # noqa: E402

CORPUS = Path(__file__).with_name("reference_corpus.json")
ENGINE_REFUSES = ("flag-name-upper-case", "flag-value-as-next-word", "flag-twice", "copy-from-arg",
                  "mount-from-arg", "mount-bare-quote", "mount-unknown-key", "stage-arg-in-from")


def _context(text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(text.encode())
        tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def build(api: docker.APIClient, backend: str, text: str) -> dict[str, str] | None:
    """What the builder copied into /seen, or None when it refused the Dockerfile."""
    tag = f"docker-diet-workshop/flags-record:{uuid.uuid4().hex[:10]}"
    try:
        if backend == "classic":
            try:
                failed = any("error" in chunk for chunk in api.build(fileobj=io.BytesIO(_context(text)),
                             custom_context=True, tag=tag, rm=True, forcerm=True, decode=True))
            except docker.errors.APIError:  # a parse error is a 400 before any output
                failed = True
        else:
            failed = subprocess.run(["docker", "buildx", "build", "--load", "--progress=plain", "-t", tag, "-"],
                                    input=_context(text), capture_output=True, timeout=600).returncode != 0
        if failed:
            return None
        return builder_reading(api, tag) if "/seen/" in text else {}
    finally:
        try:
            api.remove_image(tag, force=True)
        except docker.errors.APIError:
            pass


def generated(count: int) -> list[list[Case]]:
    found: list[list[Case]] = []

    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(copy_case(), mount_case(), from_case()), min_size=4, max_size=10))
    def collect(cases: list[Case]) -> None:
        found.append(cases)

    collect()
    random.Random(7).shuffle(found)
    return found[:count]


def main(count: int) -> None:
    client = docker.from_env()
    build_markers(client)
    records = []
    for cases in generated(count):
        for backend in ("classic", "buildx"):
            text = dockerfile(cases, buildkit=backend == "buildx")
            records.append({"backend": backend, "dockerfile": text, "used": build(client.api, backend, text)})
            print(backend, records[-1]["used"], flush=True)
    for name in ENGINE_REFUSES:
        text = REFUSED[name][0]
        for backend in ("classic", "buildx"):
            records.append({"backend": backend, "dockerfile": text, "used": build(client.api, backend, text),
                            "refused_as": name})
            print(name, backend, records[-1]["used"], flush=True)
    CORPUS.write_text(json.dumps(records, indent=1) + "\n")
    print(f"{len(records)} records in {CORPUS}")
    for tag in MARKERS.values():
        client.api.remove_image(tag, force=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
