"""Where the learner's ignore file sits: `exercises/<app>/Dockerfile.dockerignore`, the file BuildKit reads for
`docker build -f exercises/<app>/Dockerfile apps/<app>` (it reads neither exercises/<app>/.dockerignore, nor, when
the per-Dockerfile file exists, the context root's .dockerignore). The grader and `workshop reset` agree."""

from __future__ import annotations

from pathlib import Path

from grader.api import _read_dockerignore
from grader.exercises import LEARNER_FILES, ignore_file_for, reset_exercise


def test_ignore_file_for_prefers_the_per_dockerfile_file(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    assert ignore_file_for(dockerfile) is None
    (tmp_path / ".dockerignore").write_text("old\n")
    assert ignore_file_for(dockerfile) == tmp_path / ".dockerignore"
    (tmp_path / "Dockerfile.dockerignore").write_text("new\n")
    assert ignore_file_for(dockerfile) == tmp_path / "Dockerfile.dockerignore"
    assert _read_dockerignore(dockerfile, None) == "new\n"


def test_reset_removes_the_per_dockerfile_ignore_file_and_keeps_a_backup(tmp_path: Path) -> None:
    folder = tmp_path / "node-api"
    folder.mkdir()
    (folder / "Dockerfile.dockerignore").write_text("node_modules\n")
    said = reset_exercise("node-api", root=tmp_path)
    assert not (folder / "Dockerfile.dockerignore").exists()
    assert (folder / "Dockerfile.dockerignore.bak").read_text() == "node_modules\n"
    assert any("Dockerfile.dockerignore" in line for line in said)
    assert "Dockerfile.dockerignore" in LEARNER_FILES
