"""What is not run in the suite drifts: mypy --strict and ruff (complexity included) run here, so CI enforces them.

Both use the configuration in pyproject.toml and the tools installed in this venv (the `dev` extra).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grader

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: Modules run as commands rather than imported for their names: they need no `__all__`.
ENTRY_POINTS = {"__init__.py", "__main__.py", "bootstrap.py"}


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    binary = BIN / name
    assert binary.is_file(), f"{binary} is missing: install the dev extra (`pip install -e '.[dev]'`)."
    return subprocess.run([str(binary), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)


def test_mypy_strict_is_clean_on_the_grader_package() -> None:
    result = _tool("mypy")  # [tool.mypy] in pyproject.toml: strict, packages = ["grader"]
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean_on_grader_and_tests() -> None:
    result = _tool("ruff", "check", "--no-cache", "--output-format", "concise", "grader", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_private_module_declares_its_public_names() -> None:
    """Each module's `__all__` is a literal list of names the module defines or re-exports."""
    missing, unknown = [], []
    paths = sorted((REPO_ROOT / "grader").rglob("*.py"))
    assert len(paths) > 50, "the package's modules were not found"
    for path in paths:
        if path.name in ENTRY_POINTS:
            continue
        tree = ast.parse(path.read_text())
        declared = [node.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)]
        rel = path.relative_to(REPO_ROOT)
        if not declared:
            missing.append(str(rel))
            continue
        defined = {name.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
                   for name in ast.walk(node) if isinstance(name, ast.Name)}
        defined |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        defined |= {alias.asname or alias.name for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in node.names}
        assert isinstance(declared[0], ast.List), f"{rel}: __all__ must be a literal list"
        names = [element.value for element in declared[0].elts if isinstance(element, ast.Constant)]
        unknown += [f"{rel}: {name}" for name in names if name not in defined]
    assert missing == [] and unknown == [], f"no __all__: {missing}; names not defined: {unknown}"


def test_the_package_all_names_exactly_its_lazy_exports() -> None:
    assert grader.__all__ == sorted(grader._EXPORTS)
