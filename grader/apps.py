"""What the sample app's own source says, read from its build context (never from the image)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from grader.model import AppFacts

__all__ = ["normalize_python_name", "read_app_facts"]


def read_app_facts(app_dir: Path) -> AppFacts:
    """dependencies and devDependencies of every package.json in the app (not those inside node_modules)."""
    dev: set[str] = set()
    prod: set[str] = set()
    for manifest in _package_manifests(app_dir):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        dev.update((data.get("devDependencies") or {}).keys())
        prod.update((data.get("dependencies") or {}).keys())
    for requirements in sorted(app_dir.glob("requirements*.txt")):
        names = _requirement_names(requirements.read_text())
        (dev if "dev" in requirements.name or "test" in requirements.name else prod).update(names)
    return AppFacts(dev_dependencies=frozenset(dev), prod_dependencies=frozenset(prod))


def _package_manifests(app_dir: Path) -> list[Path]:
    """package.json files of the app, without walking into node_modules (tens of thousands of files)."""
    found = []
    for root, dirs, files in os.walk(app_dir):
        dirs[:] = [d for d in dirs if d not in ("node_modules", ".git")]
        if "package.json" in files:
            found.append(Path(root) / "package.json")
    return found


def normalize_python_name(name: str) -> str:
    """PEP 503: 'Typing_Extensions' and 'typing-extensions' are the same distribution."""
    return "py:" + re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(text: str) -> set[str]:
    """Distribution names from a requirements file (options such as -r and comments skipped)."""
    names = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            if match:
                names.add(normalize_python_name(match.group(0)))
    return names
