"""grader.notebook.supply_chain and buildkit_runs without an engine: the SBOM from hand-made ImageFacts and dpkg
status text, the CycloneDX document, the plain-progress log reader, and the no-engine stop."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from facts_factory import facts, layer

from grader.notebook import buildkit_runs, quizzes, supply_chain
from grader.notebook.supply_chain import Component

DPKG_STATUS = """\
Package: libpq5
Status: install ok installed
Version: 15.10-0+deb12u1
Description: PostgreSQL C client library
 continued line: with a colon

Package: gcc-12
Status: deinstall ok config-files
Version: 12.2.0-14

Package: bash
Status: install ok installed
Version: 5.2.15-2+b7
"""

REFERENCE_LIKE = facts(
    layer({"var/lib/dpkg/status": 3_000, "usr/lib/x86_64-linux-gnu/libpq.so.5.15": 300_000}, "base", base=True),
    layer({"opt/venv/lib/python3.11/site-packages/fastapi-0.115.6.dist-info/METADATA": 20_000,
           "opt/venv/lib/python3.11/site-packages/fastapi-0.115.6.dist-info/RECORD": 9_000,
           "opt/venv/lib/python3.11/site-packages/pydantic_core-2.27.2.dist-info/METADATA": 6_000,
           "opt/venv/lib/python3.11/site-packages/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so": 900_000,
           "app/node_modules/bcrypt/package.json": 2_000,
           "app/node_modules/bcrypt/build/Release/bcrypt_lib.node": 80_000,
           "app/node_modules/@types/node/package.json": 1_000,
           "app/node_modules/bcrypt/node_modules/semver/package.json": 1_000,
           "root/.cache/pip/http/ab/cd": 5_000_000}, "RUN pip install"),
)
#: A hand-made root on scratch: a Python and its libraries, no dpkg status, the venv's dist-info only.
SCRATCH_LIKE = facts(
    layer({"usr/bin/python3.11": 6_800_000, "usr/lib/x86_64-linux-gnu/libcrypto.so.3": 4_700_000,
           "lib/x86_64-linux-gnu/libc.so.6": 1_900_000,
           "opt/venv/lib/python3.11/site-packages/uvicorn-0.32.1.dist-info/METADATA": 6_000}, "COPY rootfs /"),
)


def test_dpkg_components_keep_installed_packages_with_their_versions() -> None:
    assert supply_chain.dpkg_components(DPKG_STATUS) == [Component("deb", "libpq5", "15.10-0+deb12u1"),
                                                         Component("deb", "bash", "5.2.15-2+b7")]


def test_sbom_components_read_dpkg_dist_info_and_node_modules() -> None:
    found = supply_chain.sbom_components(REFERENCE_LIKE, DPKG_STATUS)
    purls = [c.purl for c in found]
    assert "pkg:deb/debian/libpq5@15.10-0+deb12u1" in purls
    assert "pkg:pypi/fastapi@0.115.6" in purls and "pkg:pypi/pydantic-core@2.27.2" in purls
    assert {"pkg:npm/bcrypt", "pkg:npm/@types/node", "pkg:npm/semver"} <= set(purls)
    assert len(purls) == len(set(purls)), "each package once (RECORD beside METADATA is not a second package)"


def test_sbom_of_a_scratch_root_lists_no_os_package_though_it_ships_libraries() -> None:
    found = supply_chain.sbom_components(SCRATCH_LIKE, None)
    assert [c.purl for c in found] == ["pkg:pypi/uvicorn@0.32.1"]
    assert len(supply_chain.shared_libraries(SCRATCH_LIKE)) == 2


def test_shared_libraries_and_native_extensions_are_told_apart() -> None:
    assert supply_chain.shared_libraries(REFERENCE_LIKE) == ["usr/lib/x86_64-linux-gnu/libpq.so.5.15"]
    assert supply_chain.native_extensions(REFERENCE_LIKE) == [
        "app/node_modules/bcrypt/build/Release/bcrypt_lib.node",
        "opt/venv/lib/python3.11/site-packages/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so"]


def test_cyclonedx_document_has_the_required_fields_and_one_entry_per_component() -> None:
    components = supply_chain.sbom_components(REFERENCE_LIKE, DPKG_STATUS)
    document = supply_chain.cyclonedx(components, "reference", serial="00000000-0000-4000-8000-000000000000")
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.5"
    assert document["serialNumber"] == "urn:uuid:00000000-0000-4000-8000-000000000000"
    assert [entry["purl"] for entry in document["components"]] == [c.purl for c in components]
    npm = next(entry for entry in document["components"] if entry["name"] == "bcrypt")
    assert "version" not in npm, "no made-up version where the image's paths do not say one"
    json.dumps(document)


def test_bytes_under_counts_only_that_folder() -> None:
    assert supply_chain.bytes_under(REFERENCE_LIKE, "/root/.cache/pip") == 5_000_000
    assert supply_chain.bytes_under(SCRATCH_LIKE, "/root/.cache/pip") == 0


def test_plain_progress_log_tells_run_steps_from_cached_ones() -> None:
    log = "\n".join(["#4 [build 1/4] FROM example.invalid/library/python:3.11-slim", "#4 CACHED",
                     "#5 [build 2/4] RUN apt-get update", "#5 CACHED",
                     "#8 [4/5] COPY app ./app", "#8 DONE 0.1s", "#9 [test 5/5] RUN python -m pytest -q tests",
                     "#9 1.1 4 passed in 0.32s", "#9 DONE 1.2s"])
    ran, cached = buildkit_runs._steps(log)
    assert ran == ("COPY app ./app", "RUN python -m pytest -q tests")
    assert cached == ("FROM example.invalid/library/python:3.11-slim", "RUN apt-get update")


def test_contains_finds_a_needle_across_chunk_boundaries() -> None:
    data = b"x" * ((1 << 20) - 3) + b"TOKEN" + b"y" * 10
    assert buildkit_runs._contains(io.BytesIO(data), b"TOKEN")
    assert not buildkit_runs._contains(io.BytesIO(data), b"OTHER")


def test_without_an_engine_the_lesson_stops_with_the_doctors_advice(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(buildkit_runs.LessonStopped) as stopped:
        buildkit_runs.require_engine()
    shown = "\n".join(stopped.value._render_traceback_())
    assert "no Docker engine answers" in shown and "workshop doctor" in shown and "Traceback" not in shown


def test_lesson_10_quiz_is_registered_and_each_question_explains_every_option() -> None:
    assert quizzes.LESSONS["10"] == supply_chain.QUIZ
    for question in supply_chain.QUIZ:
        assert len(question.explanations) == len(question.options) and 0 <= question.correct < len(question.options)


def test_lesson_npmrc_keeps_the_apps_settings_and_adds_only_the_fake_token() -> None:
    text = supply_chain.lesson_npmrc().read_text()
    assert "build-from-source=true" in text and text.count("_authToken=") == 1 and supply_chain.FAKE_TOKEN in text


def test_failed_step_names_the_step_with_the_error_without_the_registry() -> None:
    log = "\n".join(["#3 [internal] load metadata for example.invalid/library/debian:bookworm-slim",
                     "#3 ERROR: failed to do request", "ERROR: failed to solve"])
    assert buildkit_runs._failed_step(log) == "load metadata for debian:bookworm-slim"
    assert buildkit_runs._failed_step("#5 [2/2] RUN true\n#5 DONE 0.1s") == ""
