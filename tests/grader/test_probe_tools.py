"""The grader's own tools and readers behind healthcheck-meaningful and non-root, without an engine."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from factories import HEALTHCHECK, make_evidence, make_image, make_run

import grader.checks  # noqa: F401 - registers the checks
from grader.engine import toolbox
from grader.engine.health_probe import HealthLog, _stamp_ns, combine_ways, probe_config, probe_healthcheck
from grader.engine.processes import parse_top
from grader.engine.run import RunLimits
from grader.engine.setid import parse_find_output
from grader.model import Healthcheck, ProbeWay, ProcessSeen, Status
from grader.registry import REGISTRY, run_check


def test_the_installed_busybox_is_static_and_python_is_not() -> None:
    assert toolbox.is_static_elf(toolbox.find_busybox())  # bootstrap installs busybox-static
    assert not toolbox.is_static_elf(Path(sys.executable).resolve())


def test_without_a_static_busybox_healthcheck_meaningful_fails_and_names_the_fix(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(toolbox, "BUSYBOX_CANDIDATES", (str(tmp_path / "busybox"),))
    monkeypatch.setenv("WORKSHOP_BUSYBOX", str(Path(sys.executable).resolve()))  # dynamically linked
    with pytest.raises(toolbox.ToolboxMissing, match="busybox-static"):
        toolbox.find_busybox()
    facts = make_image(healthcheck=HEALTHCHECK)
    probe = probe_healthcheck(None, facts, RunLimits(), None, None, None)  # type: ignore[arg-type]
    assert probe.status == "skipped" and "busybox-static" in probe.detail
    evidence = make_evidence(image=facts, run=replace(make_run(), probe=probe))
    check = run_check(REGISTRY["healthcheck-meaningful"], evidence)
    assert check.status is Status.FAIL and "busybox-static" in check.message and check.max_points == 5


def test_the_probe_keeps_the_images_retries_and_counts_zero_as_dockers_three() -> None:
    assert probe_config(Healthcheck(("CMD", "x"), retries=7), 0)["retries"] == 7
    assert probe_config(Healthcheck(("CMD", "x"), retries=0), 0)["retries"] == 3
    assert probe_config(Healthcheck(("CMD", "x"), timeout_s=30), 0)["timeout"] == 5_000_000_000


def test_the_health_log_counts_every_result_once_across_polls() -> None:
    log = HealthLog()
    entries = [{"Start": f"2026-12-04T15:00:0{i}.1{i}Z", "ExitCode": 1 if i != 3 else 0, "Output": "x"}
               for i in range(6)]
    log.add({"Health": {"Status": "starting", "Log": entries[:5]}})
    log.add({"Health": {"Status": "unhealthy", "Log": entries[1:6]}})  # Docker keeps the last five
    assert log.runs() == 6 and log.passes() == 1 and log.status == "unhealthy"
    assert log.passes(since_ns=_stamp_ns(str(entries[4]["Start"]))) == 0


def test_one_way_passing_without_the_app_decides_the_probe() -> None:
    ok = ProbeWay("never-started", "failed-as-expected", "unhealthy", runs=4)
    bad = ProbeWay("app-killed", "passed-without-app", "1 of 1 results passed", runs=1, passes=1)
    unknown = ProbeWay("app-killed", "not-judged", "the app was not healthy")
    assert combine_ways((ok, bad), ()).status == "passed-without-app"
    assert combine_ways((ok, unknown), ()).status == "skipped"
    assert combine_ways((ok, ok), ()).status == "failed-as-expected"


def test_docker_top_rows_become_euid_and_printable_command() -> None:
    top = {"Titles": ["PID", "EUID", "COMMAND"],
           "Processes": [["101", "1000", "node"], ["102", "0", "nap\x1b[31m"], ["103", "x", "bad"]]}
    assert parse_top(top) == [("101", ProcessSeen(1000, "node")), ("102", ProcessSeen(0, "nap?[31m"))]
    assert parse_top({"Titles": ["PID", "UID", "CMD"], "Processes": [["1", "0", "sh"]]}) == []


def test_find_output_is_relative_sorted_and_bounded() -> None:
    raw = b"/usr/local/bin/nap\n/usr/bin/su\n\n" + b"".join(b"/x/%d\n" % i for i in range(500))
    found = parse_find_output(raw)
    assert found[:2] == ("usr/bin/su", "usr/local/bin/nap") and len(found) == 200
