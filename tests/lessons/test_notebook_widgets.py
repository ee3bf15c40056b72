"""The notebook's drawing: reporters/notebook (the one check table), views (pure HTML), widgets and the grade
panel, on hand-made reports and facts (no Docker)."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from facts_factory import GCC_FACTS, report

from grader.api import GradeConfig
from grader.engine import build as build_module
from grader.engine.build import choose_builder
from grader.engine.buildkit import BuildxBuilder
from grader.engine.classic import ClassicBuilder
from grader.model import Report
from grader.notebook import panel, views, widgets
from grader.reporters import notebook as renderer


def test_the_check_table_has_points_measured_threshold_hints_lesson_links_and_total() -> None:
    html = renderer.check_table_html(report())
    assert "ddw-check-table" in html and "Use a slim base." in html and "&lt;= 200 MB" in html
    assert "href='02-multi-stage-node.ipynb#Result'" in html
    assert "Total: 5 / 25 points" in html


def test_the_check_table_shows_only_the_named_checks_without_a_total() -> None:
    html = renderer.check_table_html(report(), only=("size",))
    assert "data-check='size'" in html and "data-check='builds'" not in html and "Total" not in html


def test_render_html_for_reports_outside_lessons_uses_the_same_table_without_links() -> None:
    html = renderer.render_html(report())
    assert "ddw-check-table" in html and "href=" not in html and "lessons/02-multi-stage-node.ipynb" in html


def test_widgets_wrap_the_renderers_html() -> None:
    import ipywidgets  # the lab extra: a missing one fails here rather than skipping

    shown = widgets.check_list(report())
    assert isinstance(shown, ipywidgets.HTML) and renderer.check_table_html(report()) in shown.value


def test_size_bars_take_the_articles_numbers_from_the_report() -> None:
    bars = renderer.size_bars(report(), reference=report(size=165_000_000))
    assert [bar.kind for bar in bars] == ["article", "article", "naive", "current", "reference"]
    assert bars[1].size_bytes == 180_000_000 and bars[-1].size_bytes == 165_000_000


def test_docker_size_matches_the_docker_cli() -> None:
    assert [views.docker_size(n) for n in (1_199_020_711, 163_701_616, 73_400_000, 999)] == \
        ["1.2GB", "164MB", "73.4MB", "999B"]


def test_layer_table_and_largest_files_mark_wasted_and_hidden_bytes() -> None:
    assert "180 MB" in views.layer_table_html(views.layer_rows(GCC_FACTS))
    html = views.largest_files_html(GCC_FACTS, 1)
    assert "/usr/bin/gcc-12" in html and "still shipped" in html


def test_layer_explorer_picker_shows_the_chosen_layer() -> None:
    explorer = widgets.layer_explorer(GCC_FACTS)
    explorer.children[1].value = 2
    assert "Layer 3" in explorer.children[2].value


def test_layer_explorer_of_an_unbuilt_report_says_why() -> None:
    from grader.errors import BuildFailed

    shown = widgets.layer_explorer(Report(exercise="node-api", checks=(), error=BuildFailed("Line 3 failed.")))
    assert "Line 3 failed." in shown.value


def test_pieces_degrade_to_plain_html_without_ipywidgets(monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.display import HTML

    monkeypatch.setattr(widgets, "ipywidgets_module", lambda: None)
    assert isinstance(widgets.check_list(report()), HTML)
    assert isinstance(widgets.layer_explorer(GCC_FACTS), HTML)
    assert "10 Mbit/s" in widgets.pull_time_slider({"x": 100_000_000}).data


def test_grade_panel_draws_the_report_with_the_one_renderer() -> None:
    calls = []

    def fake_grade(exercise, dockerfile, dockerignore, *, config, progress):  # type: ignore[no-untyped-def]
        from grader.model import BuildEvent

        calls.append(config.tag)
        progress(BuildEvent("Step 1/2 : FROM node:20", 1, 2))
        return report()

    grade_panel = panel.GradePanel("node-api", grade_function=fake_grade)
    assert grade_panel.run() is grade_panel.report and calls == ["docker-diet-workshop/node-api:lesson"]
    grade_panel.run()
    assert grade_panel.runs == 2 and "grade #2: 5/25 points" in grade_panel.status.value
    assert renderer.check_table_html(report()) in grade_panel.checks.value
    assert "ddw-size-chart" in grade_panel.chart.value and "Step 1/2" in grade_panel.log.value


def test_the_reference_section_is_closed_and_grades_nothing_until_opened() -> None:
    mine = panel.GradePanel("node-api", grade_function=lambda *a, **k: report())
    section = panel.ReferenceSection("node-api", mine, solutions=Path("solutions"))
    assert section.widget.selected_index is None and section.report is None


def test_lesson_config_gives_each_role_its_own_tag_and_builds_with_buildkit_where_it_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "Dockerfile"
    plain.write_text("FROM debian:bookworm-slim\nRUN true\n")
    config = panel.lesson_config("node-api", plain, role="reference")
    assert config.tag == "docker-diet-workshop/node-api:reference" and config.backend == "auto"
    assert panel.lesson_config("node-api", plain, config=GradeConfig(backend="classic")).backend == "classic"
    api = docker.APIClient(base_url=f"unix://{tmp_path}/unused.sock", version="1.41")  # choosing connects to nothing
    monkeypatch.setattr(build_module, "buildx_available", lambda: True)
    assert isinstance(choose_builder(api, config.backend), BuildxBuilder), "BuildKit where `docker buildx` works"
    monkeypatch.setattr(build_module, "buildx_available", lambda: False)
    assert isinstance(choose_builder(api, config.backend), ClassicBuilder), "the classic builder as the fallback"
