"""The pure parts of the lesson modules (grader/notebook/<lesson>.py), and the rules that keep them at the edge."""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

import pytest
from facts_factory import GCC_FACTS, facts, layer, report

from grader.notebook import beyond, closing, common, fat, measuring, python
from grader.notebook.image_api import COMPRESSION_RATIO
from grader.paths import REPO_ROOT

NOTEBOOK_PACKAGE = REPO_ROOT / "grader" / "notebook"
FORBIDDEN = ("docker", "grader.engine")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


#: The one module of the notebook package that may reach the engine: lessons get images' facts through it.
ENGINE_GATEWAY = "image_api.py"


@pytest.mark.parametrize("path", sorted(p for p in NOTEBOOK_PACKAGE.glob("*.py") if p.name != ENGINE_GATEWAY),
                         ids=lambda p: p.name)
def test_no_lesson_module_talks_to_the_engine_and_each_stays_short(path: Path) -> None:
    bad = {name for name in _imports(path) if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{path.name} imports {bad}: go through grader.api or grader.notebook.image_api"
    assert len(path.read_text().splitlines()) < 400


LESSON_MODULES = ("fat", "node", "python", "combined", "principles", "measuring", "beyond", "closing", "common",
                  "quizzes")


@pytest.mark.parametrize("display_module", ["widgets", "views", "asking", "panel"])
def test_display_modules_never_import_the_lesson_modules(display_module: str) -> None:
    """Lesson modules may use the widgets; the widgets never use a lesson module: no import cycle."""
    imported = _imports(NOTEBOOK_PACKAGE / f"{display_module}.py")
    assert not imported & {f"grader.notebook.{name}" for name in LESSON_MODULES}


def test_node_modules_breakdown_splits_dev_from_production(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    lock.write_text('{"packages": {"": {}, "node_modules/express": {}, "node_modules/typescript": {"dev": true},'
                    ' "node_modules/@types/node": {"dev": true}}}')
    image = facts(layer({"app/node_modules/express/index.js": 1_000, "app/node_modules/typescript/lib/tsc.js": 9_000,
                         "app/node_modules/@types/node/index.d.ts": 2_000}, "RUN npm ci"))
    packages = fat.node_modules_breakdown(image, lock)
    assert [(p.name, p.dev) for p in packages] == [("typescript", True), ("@types/node", True), ("express", False)]
    assert fat.node_modules_summary(packages)["dev-only packages"] == 11_000


def test_tiny_wheel_is_a_valid_wheel() -> None:
    name, data = python.tiny_wheel()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert name == "greeting-1.0-py3-none-any.whl" and "greeting.py" in archive.namelist()


def test_registry_storage_shares_base_layers_between_tags() -> None:
    estimate = measuring.registry_storage(GCC_FACTS, tags=40)
    base, own = 100_000 * COMPRESSION_RATIO, 183_002_000 * COMPRESSION_RATIO
    assert estimate.naive_bytes == int((base + own) * 40) and estimate.shared_bytes == int(base + own * 40)


def test_real_numbers_take_the_article_from_the_report() -> None:
    rows = measuring.real_numbers_rows(report(), report(165_000_000), report(160_000_000),
                                       {"starting Dockerfile": 60.0, "reference": 70.0})
    assert rows[0][1] == "1.20 GB → 180 MB" and rows[1][1].startswith("8m30s") and rows[2][1].endswith("18.0 s")


def test_the_articles_numbers_come_from_grading_toml() -> None:
    article = common.article_numbers("node-api")
    assert (article.before_bytes, article.after_bytes, article.build_before_s) == (1_200_000_000, 180_000_000, 510)


def test_quick_wins_tick_from_the_checks() -> None:
    row = closing.quick_win_rows({"node-api": report()})[0]
    assert row[0] == "node-api" and row[-1] == "5/25"


def test_files_in_layers_finds_a_deleted_file() -> None:
    assert beyond.files_in_layers(GCC_FACTS, "/usr/bin/gcc-12") == [(2, "RUN apt-get install gcc", 180_000_000)]


def test_stretch_dockerfiles_lists_only_the_apps_that_have_one(tmp_path: Path) -> None:
    (tmp_path / "stretch" / "fastapi").mkdir(parents=True)
    (tmp_path / "stretch" / "fastapi" / "Dockerfile").write_text("FROM scratch\n")
    assert list(beyond.stretch_dockerfiles(tmp_path)) == ["fastapi"]


def test_no_lesson_cell_imports_the_engine_the_inspector_or_the_docker_sdk() -> None:
    import re

    from lesson_support import NOTEBOOKS, read_notebook

    pattern = re.compile(r"^\s*(import docker\b|from docker\b|.*grader\.(engine|inspect|build)\b)", re.MULTILINE)
    offenders = [(name, cell.get("id")) for name in NOTEBOOKS for cell in read_notebook(name).cells
                 if cell.cell_type == "code" and pattern.search(cell.source)]
    assert not offenders, offenders


def test_the_context_summary_flags_env_files_by_the_no_secrets_rule(tmp_path: Path) -> None:
    from grader.notebook.principles import summarize_context

    for name in (".env", ".env.production", ".env.example", "main.js"):
        (tmp_path / name).write_text("x")
    summary = summarize_context(tmp_path, "FROM scratch\n", None)
    assert sorted(summary.secrets) == [".env", ".env.production"]
