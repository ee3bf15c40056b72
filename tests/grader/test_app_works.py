"""app-works on hand-made facts: the contracts, the judging of answers, the size gate and the probe's output."""

from __future__ import annotations

import json

import pytest
from factories import SCRIPT, make_app_probe, make_evidence, make_image, make_run

from grader.app_contract import contract_from_mapping, json_lookup, load_contract, render
from grader.checks.verdicts import describe_contract, judge, sanitize_excerpt
from grader.engine.app_probe import parse_probe_output, probe_plan
from grader.errors import GradeError
from grader.model import AppProbeFacts, Exchange, Status
from grader.paths import APPS_DIR, EXERCISES
from grader.registry import REGISTRY, run_check
from grader.settings import ExerciseSettings


def app_works(probe: AppProbeFacts, exercise: str = "node-api"):  # type: ignore[no-untyped-def]
    import grader.checks  # noqa: F401

    return run_check(REGISTRY["app-works"], make_evidence(settings=ExerciseSettings(exercise=exercise),
                                                          run=make_run(app_probe=probe)))


# the contracts beside the apps ---------------------------------------------------------------------------
@pytest.mark.parametrize("app", EXERCISES)
def test_every_app_has_a_contract_with_content_checks(app: str) -> None:
    contract = load_contract(APPS_DIR / app)
    assert contract is not None and contract.requests
    assert all(r.expect.json or r.expect.body_contains or r.expect.types for r in contract.requests)


@pytest.mark.parametrize("app", EXERCISES)
def test_app_works_passes_for_the_answers_the_real_app_gives(app: str) -> None:
    assert app_works(make_app_probe(app), app).status is Status.PASS


def test_a_contract_with_an_unknown_key_names_the_file_and_the_valid_keys() -> None:
    with pytest.raises(GradeError, match=r"apps/x/probe.toml.*unknown key\(s\) stauts.*valid keys"):
        contract_from_mapping("x", {"port": 80, "request": [{"name": "a", "path": "/", "expect": {"stauts": 200}}]},
                              "apps/x/probe.toml")


def test_a_contract_that_uses_a_value_nobody_saved_is_refused() -> None:
    with pytest.raises(GradeError, match=r"\$\{note_id\}"):
        contract_from_mapping("x", {"port": 80, "request": [
            {"name": "read", "path": "/notes/${note_id}", "expect": {"status": 200}}]})


def test_json_paths_and_placeholders() -> None:
    data = {"user": {"email": "a@b"}, "items": [{"id": 1}, {"id": 7}]}
    assert json_lookup(data, "user.email") == ["a@b"] and json_lookup(data, "items.*.id") == [1, 7]
    assert json_lookup([{"id": 3}], "0.id") == [3] and json_lookup(data, "nope.x") == []
    assert render("${n}", {"n": 7}) == 7 and render("/notes/${n}", {"n": 7}) == "/notes/7"


def test_explain_shows_every_request_and_what_it_expects() -> None:
    contract = load_contract(APPS_DIR / "node-api")
    assert contract is not None
    text = describe_contract(contract)
    assert "log in with a wrong password: POST /login" in text and "status 401" in text


# judging ---------------------------------------------------------------------------------------------------
def test_app_works_fails_when_the_container_never_turned_healthy() -> None:
    contract = load_contract(APPS_DIR / "node-api")
    check = app_works(AppProbeFacts("not-run", "the container never turned healthy", contract))
    assert check.status is Status.FAIL and "never turned healthy" in check.message


def test_app_works_fails_when_the_built_page_is_missing() -> None:
    probe = make_app_probe("combined", answers={0: (404, "text/html", "frontend not built")}, assets=())
    check = app_works(probe, "combined")
    assert check.status is Status.FAIL and "open the page" in check.message and "frontend not built" in check.message


def test_app_works_fails_when_a_script_comes_back_as_the_page() -> None:
    fallback = Exchange("script /src/main.tsx", "GET", "/src/main.tsx", 200, "text/html; charset=UTF-8",
                        "<!doctype html><html>", kind="script")
    check = app_works(make_app_probe("combined", assets=(fallback,)), "combined")
    assert check.status is Status.FAIL and "/src/main.tsx" in (check.hint or "")


def test_app_works_fails_when_the_page_references_no_script() -> None:
    assert app_works(make_app_probe("combined", assets=()), "combined").status is Status.FAIL


def test_app_works_passes_with_a_script_and_its_stylesheet() -> None:
    css = Exchange("stylesheet /assets/a.css", "GET", "/assets/a.css", 200, "text/css; charset=UTF-8", "body{}",
                   kind="stylesheet")
    assert app_works(make_app_probe("combined", assets=(SCRIPT, css)), "combined").status is Status.PASS


def test_app_works_fails_when_health_does_not_show_the_compiled_driver() -> None:
    probe = make_app_probe("fastapi", answers={2: (200, "application/json", '{"status":"ok"}')})
    check = app_works(probe, "fastapi")
    hint = check.hint or ""
    assert check.status is Status.FAIL and ("psycopg2" in hint or "libpq" in hint)


def test_app_works_fails_when_the_note_read_back_is_another_one() -> None:
    other = (200, "application/json", '{"id":1,"title":"something else","body":"","created_at":"x"}')
    assert app_works(make_app_probe("fastapi", answers={1: other}), "fastapi").status is Status.FAIL


def test_app_works_does_not_count_the_database_request_without_a_database() -> None:
    down = (503, "application/json", '{"detail":"database unavailable: OperationalError"}')
    note = "database not available: the image postgres:15 is not on this machine; `workshop bases` makes it"
    check = app_works(make_app_probe("fastapi", answers={3: down}, database_note=note), "fastapi")
    assert check.status is Status.PASS and "database not available" in check.message
    assert check.measured["the database answers"] == "not counted"


def test_app_works_fails_when_the_database_runs_and_the_app_cannot_reach_it() -> None:
    down = (503, "application/json", '{"detail":"database unavailable: OperationalError"}')
    assert app_works(make_app_probe("fastapi", answers={3: down}), "fastapi").status is Status.FAIL


def test_app_works_is_skipped_for_an_app_without_a_contract() -> None:
    check = app_works(AppProbeFacts("no-contract", "the app has no probe.toml, so no requests were sent"))
    assert check.status is Status.SKIPPED


def test_a_value_of_another_type_does_not_pass() -> None:
    probe = make_app_probe(answers={0: (201, "application/json",
                                        '{"id":"1","email":"x","name":"Probe User","createdAt":"t"}')})
    assert not judge(probe)[0].passed


def test_what_the_report_quotes_of_an_answer_is_short_and_printable() -> None:
    hostile = "\x1b[2J\x1b]0;owned\x07" + "A" * 5000 + "\u202e"
    check = app_works(make_app_probe(answers={0: (500, "text/plain", hostile)}))
    assert check.status is Status.FAIL
    assert "\x1b" not in check.message and "\u202e" not in check.message and len(check.message) < 400
    assert sanitize_excerpt("a\nb\tc") == "a b c"


def test_size_gets_points_when_the_app_works() -> None:
    check = run_check(REGISTRY["size"], make_evidence(image=make_image(size=5_000_000)))
    assert check.status is Status.PASS


# the probe's output, read as untrusted data ------------------------------------------------------------------
def _output(exchanges: list[object]) -> bytes:
    return json.dumps({"v": 1, "exchanges": exchanges, "saved": {"user_id": 1}}).encode()


def _raw(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {"name": "a", "method": "GET", "path": "/", "kind": "request", "status": 200,
                               "type": "text/html", "body": "x", "error": None, "assets": []}
    item.update(changes)
    return item


def test_the_probe_output_is_read_field_by_field() -> None:
    exchanges, saved = parse_probe_output(_output([_raw(body="y" * 100_000)]), 1)
    assert exchanges[0].status == 200 and len(exchanges[0].body) == 8192 and saved == {"user_id": 1}


@pytest.mark.parametrize("bad", [b"", b"not json", b"[" * 100_000, _output([_raw(status="200")]),
                                 _output([_raw(kind="shell")]), _output([]), _output([_raw(assets=[_raw()] * 17)])])
def test_a_probe_output_that_is_not_the_probes_is_refused(bad: bytes) -> None:
    with pytest.raises(ValueError):
        parse_probe_output(bad, 1)


def test_the_plan_makes_fresh_values_for_every_run() -> None:
    contract = load_contract(APPS_DIR / "node-api")
    assert contract is not None
    one, two = probe_plan(contract, "aaaa"), probe_plan(contract, "bbbb")
    assert one["values"]["email"] == "probe-aaaa@example.test" and one["values"] != two["values"]
    assert one["port"] == 3000 and [r["name"] for r in one["requests"]][0] == "create a user"


def test_workshop_explain_app_works_shows_each_apps_contract(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from grader.cli.grade import cmd_explain

    assert cmd_explain(argparse.Namespace(check_id="app-works")) == 0
    out = capsys.readouterr().out
    for app in EXERCISES:
        assert f"apps/{app}/probe.toml" in out
    assert "log in with a wrong password: POST /login" in out and "GET /health/db" in out
    assert "every script and stylesheet it references" in out


def test_editing_the_probe_contract_changes_the_run_cache_key() -> None:
    from dataclasses import replace

    from grader.cache_keys import run_key

    contract = load_contract(APPS_DIR / "node-api")
    assert contract is not None
    image = make_image()
    edited = replace(contract, requests=contract.requests[:-1])
    assert run_key(image, None, "inputs", contract) == run_key(image, None, "inputs", contract)
    assert run_key(image, None, "inputs", contract) != run_key(image, None, "inputs", edited)
    assert run_key(image, None, "inputs", contract) != run_key(image, None, "inputs", None)
