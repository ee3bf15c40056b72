"""The build context: the app plus the learner's files, with .dockerignore applied like the docker CLI."""

from __future__ import annotations

import tarfile
from pathlib import Path

from grader.context import assemble_context


def names(folder: Path, ignore: str | None) -> set[str]:
    context = assemble_context(folder, "FROM scratch\n", ignore)
    with tarfile.open(fileobj=context.tar) as tar:
        return {m.name for m in tar.getmembers() if m.isfile()}


def make_app(folder: Path) -> Path:
    for name in ("src/main.ts", "dist/main.js", "node_modules/x/index.js", ".git/HEAD", "README.md",
                 "docs/a.md", ".env.production", "package.json", "Dockerfile"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x" * 100)
    return folder


def test_without_dockerignore_everything_is_sent(tmp_path: Path) -> None:
    sent = names(make_app(tmp_path), None)
    assert {"node_modules/x/index.js", ".git/HEAD", ".env.production", "Dockerfile"} <= sent


def test_dockerignore_patterns_and_exceptions_apply(tmp_path: Path) -> None:
    sent = names(make_app(tmp_path), "node_modules\n.git\n*.md\n**/*.md\n.env*\n!README.md\n# comment\n")
    assert sent == {"src/main.ts", "dist/main.js", "README.md", "package.json", "Dockerfile", ".dockerignore"}


def test_the_learners_dockerfile_replaces_the_apps_and_size_is_measured(tmp_path: Path) -> None:
    context = assemble_context(make_app(tmp_path), "FROM learner\n", None)
    with tarfile.open(fileobj=context.tar) as tar:
        dockerfile = tar.extractfile("Dockerfile")
        assert dockerfile is not None and dockerfile.read() == b"FROM learner\n"
    assert context.size_bytes >= 10 * 512


def test_a_per_dockerfile_ignore_file_wins_over_the_shared_one(tmp_path: Path) -> None:
    from grader.api import _read_dockerignore

    dockerfile = tmp_path / "prod.Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("shared\n")
    assert _read_dockerignore(dockerfile, None) == "shared\n"
    (tmp_path / "prod.Dockerfile.dockerignore").write_text("specific\n")
    assert _read_dockerignore(dockerfile, None) == "specific\n"
