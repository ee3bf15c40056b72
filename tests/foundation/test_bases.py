"""`workshop bases`: every base present, stand-ins labelled and close to the official sizes, re-runs are no-ops."""

from __future__ import annotations

import docker
import pytest

from grader.bases import recipes as base_recipes
from grader.bases.stand_ins import (
    BASES_BY_TAG,
    EXERCISE_IMAGES,
    REQUIRED_BASES,
    BaseState,
    base_status,
    ensure_bases,
    extra_ca_certificates,
)

pytestmark = pytest.mark.docker


def _run(client: docker.DockerClient, tag: str, command: str) -> str:
    return client.containers.run(tag, ["sh", "-c", command], remove=True, network_mode="none").decode()


def test_every_required_base_is_present(docker_client) -> None:
    missing = [tag for tag in REQUIRED_BASES if not base_status(docker_client, tag).present]
    assert not missing, f"run `workshop bases`: missing {missing}"


def test_rerun_is_a_no_op(docker_client) -> None:
    before = {tag: base_status(docker_client, tag).image_id for tag in REQUIRED_BASES}
    outcomes = ensure_bases(docker_client, say=lambda _: None)
    assert [o.action for o in outcomes] == ["kept"] * len(REQUIRED_BASES)
    assert {tag: base_status(docker_client, tag).image_id for tag in REQUIRED_BASES} == before


@pytest.mark.parametrize("tag", EXERCISE_IMAGES)  # postgres:15's size is part of no lesson: test_postgres_image.py
def test_stand_in_is_labelled_and_within_ten_percent_of_official(docker_client, tag: str) -> None:
    status = base_status(docker_client, tag)
    if status.state is BaseState.OFFICIAL:
        return  # an official image is its own reference
    assert status.state is BaseState.STAND_IN
    labels = docker_client.images.get(tag).labels
    assert labels[base_recipes.LABEL_STAND_IN] == tag
    assert labels[base_recipes.LABEL_RECIPE] == base_recipes.RECIPE_VERSION
    official = BASES_BY_TAG[tag].official_mb * 1e6
    assert 0.9 * official <= status.size_bytes <= 1.1 * official, f"{tag}: {status.size_bytes / 1e6:.0f} MB"


@pytest.mark.parametrize("tag", ["node:20", "node:20-slim"])
def test_node_images_have_node_20_npm_10_headers_and_the_node_user(docker_client, tag: str) -> None:
    out = _run(docker_client, tag, "node -v; npm -v; id -u node; "
                                   "ls /usr/local/include/node/node.h /usr/local/include/node/common.gypi")
    node_version, npm_version, uid, *headers = out.split()
    assert node_version.startswith("v20.") and npm_version.startswith("10.") and uid == "1000"
    assert len(headers) == 2


def test_slim_node_has_no_build_tools_but_full_node_does(docker_client) -> None:
    look_up = "for tool in gcc g++ make python3; do command -v $tool; done; true"
    assert _run(docker_client, "node:20-slim", look_up).split() == []
    assert len(_run(docker_client, "node:20", look_up).split()) == 4


@pytest.mark.parametrize("tag", ["python:3.11", "python:3.11-slim"])
def test_python_images_have_python_pip_headers_and_no_pep668_marker(docker_client, tag: str) -> None:
    out = _run(docker_client, tag, "python --version; pip --version >/dev/null && echo pip-ok; "
                                   "python -c 'import sysconfig,os; "
                                   "print(os.path.exists(sysconfig.get_paths()[\"include\"] + \"/Python.h\"))'; "
                                   "ls /usr/lib/python3*/EXTERNALLY-MANAGED 2>/dev/null || echo no-marker")
    assert out.split() == ["Python", out.split()[1], "pip-ok", "True", "no-marker"]
    assert out.split()[1].startswith("3.11.")


def test_python_slim_lists_no_dev_package_and_no_compiler(docker_client) -> None:
    out = _run(docker_client, "python:3.11-slim",
               "dpkg-query -W -f '${Package}\\n' | grep -E -- '-dev$' || true; command -v gcc || true")
    assert out.strip() == ""


def test_node_images_trust_the_extra_ca_certificates_when_the_machine_has_some(docker_client) -> None:
    env = docker_client.images.get("node:20-slim").attrs["Config"]["Env"] or []
    has_setting = any(e.startswith("NODE_EXTRA_CA_CERTS=") for e in env)
    if base_status(docker_client, "node:20-slim").state is BaseState.OFFICIAL:
        assert not has_setting
    else:
        assert has_setting == bool(extra_ca_certificates())
