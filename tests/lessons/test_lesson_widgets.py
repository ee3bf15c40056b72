"""grader/widgets.py and the pure parts of grader/lesson_helpers.py, on hand-made reports and facts (no Docker)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from grader import lesson_helpers, widgets
from grader.inspect import LayerIndex, merge_layers
from grader.model import (
    ArticleNumbers,
    CheckResult,
    Comparison,
    FileEntry,
    ImageFacts,
    LayerFacts,
    Report,
    Status,
)
from grader.units import human_bytes


def _check(id: str, status: Status, points: float, max_points: float, hint: str | None = None) -> CheckResult:
    return CheckResult(id=id, title=id.title(), status=status, points=points, max_points=max_points,
                       measured="1.20 GB", threshold="<= 200 MB", message=f"{id} message", hint=hint,
                       lesson="lessons/02-multi-stage-node.ipynb#Result")


def _report(size: int = 1_200_000_000) -> Report:
    checks = (_check("builds", Status.PASS, 5, 5), _check("size", Status.FAIL, 0, 20, "Use a slim base."),
              _check("lint", Status.SKIPPED, 0, 0))
    comparison = Comparison(article=ArticleNumbers(1_200_000_000, 180_000_000), naive_bytes=1_270_000_000,
                            current_bytes=size, reduction_percent=5.0, cold_build_s=None, warm_build_s=None,
                            compressed_bytes_estimate=size // 2, pull_seconds_estimate=None, bandwidth_mbps=100)
    return Report(exercise="node-api", checks=checks, image_size_bytes=size, comparison=comparison)


def _layer(files: dict[str, int], instruction: str, deleted: frozenset[str] = frozenset(),
           base: bool = False) -> LayerFacts:
    entries = {path: FileEntry(size, "file") for path, size in files.items()}
    return LayerFacts(digest=f"sha256:{abs(hash(instruction)):064x}", size_bytes=sum(files.values()),
                      instruction=instruction, from_base=base, files=entries, deleted=deleted,
                      opaque_dirs=frozenset())


def _facts(*layers: LayerFacts) -> ImageFacts:
    merged = merge_layers([LayerIndex(dict(l.files), l.deleted, l.opaque_dirs, {}, frozenset()) for l in layers])
    return ImageFacts(image_id="sha256:" + "ab" * 32, size_bytes=sum(l.size_bytes for l in layers), user="",
                      healthcheck=None, env=(), exposed_ports=(), cmd=None, entrypoint=None, workdir="/app",
                      layers=layers, merged=merged)


GCC_FACTS = _facts(
    _layer({"bin/sh": 100_000}, "base", base=True),
    _layer({"usr/bin/gcc-12": 180_000_000, "usr/lib/libfoo.so": 3_000_000}, "RUN apt-get install gcc"),
    _layer({"var/lib/dpkg/status": 2_000}, "RUN apt-get remove gcc", deleted=frozenset({"usr/bin/gcc-12"})),
)


def test_size_bars_put_the_article_beside_the_learner() -> None:
    reference = _report(size=165_000_000)
    bars = widgets.size_bars(_report(), reference=reference)
    assert [bar.kind for bar in bars] == ["article", "article", "naive", "current", "reference"]
    assert bars[-1].size_bytes == 165_000_000


def test_size_chart_html_scales_bars_to_the_largest() -> None:
    html = widgets.size_chart_html([widgets.SizeBar("a", 1_000, "article"), widgets.SizeBar("b", 500, "current")])
    assert "ddw-size-chart" in html and "width:100.0%" in html and "width:50.0%" in html


def test_size_chart_html_without_bars_says_so() -> None:
    assert "grade an image first" in widgets.size_chart_html([])


def test_check_list_html_has_points_hints_lesson_links_and_total() -> None:
    html = widgets.check_list_html(_report())
    assert "ddw-check-table" in html and "Use a slim base." in html
    assert "href='02-multi-stage-node.ipynb#Result'" in html
    assert "Total: 5 / 25 points" in html


def test_check_list_html_only_shows_the_named_checks_without_a_total() -> None:
    html = widgets.check_list_html(_report(), only=("size",))
    assert "data-check='size'" in html and "data-check='builds'" not in html and "Total" not in html


def test_check_list_text_for_terminals() -> None:
    assert "next: Use a slim base." in widgets.check_list_text(_report())


def test_layer_rows_count_bytes_hidden_by_a_later_layer_as_wasted() -> None:
    rows = widgets.layer_rows(GCC_FACTS)
    assert [row.wasted_bytes for row in rows] == [0, 180_000_000, 0]
    assert "180 MB" in widgets.layer_table_html(rows)


def test_largest_files_mark_hidden_files() -> None:
    html = widgets.largest_files_html(GCC_FACTS, 1)
    assert "/usr/bin/gcc-12" in html and "still shipped" in html


def test_layer_explorer_of_an_unbuilt_report_says_why() -> None:
    from grader.errors import BuildFailed

    report = Report(exercise="node-api", checks=(), error=BuildFailed("The build failed at line 3."))
    shown = widgets.layer_explorer(report)
    assert "The build failed at line 3." in getattr(shown, "value", getattr(shown, "data", ""))


def test_lesson_href_is_relative_to_lessons() -> None:
    assert widgets.lesson_href("lessons/05-x.ipynb#Non-root user") == "05-x.ipynb#Non-root-user"


def test_pieces_degrade_to_plain_html_without_ipywidgets(monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.display import HTML

    monkeypatch.setattr(widgets, "ipywidgets_module", lambda: None)
    assert isinstance(widgets.check_list(_report()), HTML)
    assert isinstance(widgets.size_chart(_report()), HTML)
    assert isinstance(widgets.layer_explorer(GCC_FACTS), HTML)
    assert "10 Mbit/s" in widgets.pull_time_slider({"x": 100_000_000}).data


def test_pieces_are_widgets_when_ipywidgets_is_installed() -> None:
    import ipywidgets  # the lab extra: a missing one fails here rather than skipping
    assert isinstance(widgets.check_list(_report()), ipywidgets.HTML)
    explorer = widgets.layer_explorer(GCC_FACTS)
    picker = explorer.children[1]
    picker.value = 2
    assert "Layer 3" in explorer.children[2].value


def test_grade_panel_draws_the_report_it_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_grade(exercise, dockerfile, dockerignore, *, config, progress):  # type: ignore[no-untyped-def]
        from grader.build import BuildEvent

        calls.append(config.tag)
        progress(BuildEvent("Step 1/2 : FROM node:20", 1, 2))
        return _report()

    panel = widgets.GradePanel("node-api", grade_function=fake_grade, role="lesson")
    report = panel.run()
    assert report is panel.report and calls == ["docker-diet-workshop/node-api:lesson"]
    panel.run()
    assert panel.runs == 2
    if panel._w is not None:
        assert "ddw-check-table" in panel.checks.value and "ddw-size-chart" in panel.chart.value
        assert panel.bar.value == panel.bar.max and "Step 1/2" in panel.log.value


def test_grade_panel_without_widgets_prints(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(widgets, "ipywidgets_module", lambda: None)
    panel = widgets.GradePanel("node-api", grade_function=lambda *a, **k: _report())
    panel.run()
    assert "node-api: grade #1: 5/25 points" in capsys.readouterr().out


def test_lesson_config_gives_each_role_its_own_tag_and_keeps_buildkit_when_needed(tmp_path: Path) -> None:
    plain = tmp_path / "Dockerfile"
    plain.write_text("FROM debian:bookworm-slim\nRUN true\n")
    mounts = tmp_path / "Dockerfile.bk"
    mounts.write_text("FROM node:20\nRUN --mount=type=cache,target=/root/.npm npm ci\n")
    config = widgets.lesson_config("node-api", plain, role="reference")
    assert config.tag == "docker-diet-workshop/node-api:reference" and config.backend == "classic"
    assert widgets.lesson_config("node-api", mounts).backend == "auto"


def test_node_modules_breakdown_splits_dev_from_production(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    lock.write_text('{"packages": {"": {}, "node_modules/express": {}, "node_modules/typescript": {"dev": true},'
                    ' "node_modules/@types/node": {"dev": true}}}')
    facts = _facts(_layer({"app/node_modules/express/index.js": 1_000,
                           "app/node_modules/typescript/lib/tsc.js": 9_000,
                           "app/node_modules/@types/node/index.d.ts": 2_000}, "RUN npm ci"))
    packages = lesson_helpers.node_modules_breakdown(facts, lock)
    assert [(p.name, p.dev) for p in packages] == [("typescript", True), ("@types/node", True), ("express", False)]
    assert lesson_helpers.node_modules_summary(packages) == {"dev-only packages": 11_000,
                                                             "production packages": 1_000, "total": 12_000}


def test_tiny_wheel_is_a_valid_wheel() -> None:
    name, data = lesson_helpers.tiny_wheel()
    assert name == "greeting-1.0-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {"greeting.py", "greeting-1.0.dist-info/RECORD"} <= set(archive.namelist())


def test_replace_healthcheck_swaps_the_whole_instruction() -> None:
    text = "FROM x\nHEALTHCHECK --interval=5s \\\n  CMD node -e 'x'\nCMD [\"node\"]\n"
    assert lesson_helpers.replace_healthcheck(text, "HEALTHCHECK CMD true") == \
        "FROM x\nHEALTHCHECK CMD true\nCMD [\"node\"]\n"
    with pytest.raises(ValueError):
        lesson_helpers.replace_healthcheck("FROM x\n", "HEALTHCHECK CMD true")


def test_registry_storage_shares_base_layers_between_tags() -> None:
    from grader.inspect import COMPRESSION_RATIO

    estimate = lesson_helpers.registry_storage(GCC_FACTS, tags=40)
    base, own = 100_000 * COMPRESSION_RATIO, 183_002_000 * COMPRESSION_RATIO
    assert estimate.naive_bytes == int((base + own) * 40)
    assert estimate.shared_bytes == int(base + own * 40)


def test_pull_seconds() -> None:
    assert lesson_helpers.pull_seconds(100_000_000, 100) == pytest.approx(8.0)
    assert human_bytes(0) == "0 B"


def test_files_in_layers_finds_a_deleted_file() -> None:
    assert lesson_helpers.files_in_layers(GCC_FACTS, "/usr/bin/gcc-12") == [(2, "RUN apt-get install gcc",
                                                                             180_000_000)]
