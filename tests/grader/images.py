"""Small real images for the tests, built by the grader itself from temp folders FROM the local bases."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import docker

from grader.paths import PROJECT_LABEL

SERVER = '''import http.server, socketserver
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'{"status":"ok"}')
socketserver.TCPServer(("127.0.0.1", 8000), Handler).serve_forever()
'''
HEALTHCHECK = ('HEALTHCHECK CMD ["python", "-c", "import urllib.request; '
               "urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)\"]")
PACKAGE_JSON = '{"name": "t", "dependencies": {"express": "4"}, "devDependencies": {"typescript": "5"}}'


def write_app(folder: Path, dockerfile: str, dockerignore: str | None = None,
              extra: Mapping[str, str | bytes] | None = None) -> Path:
    """An app folder with junk a .dockerignore should keep out; returns the Dockerfile's path."""
    files: dict[str, str | bytes] = {
        "server.py": SERVER, "package.json": PACKAGE_JSON, "README.md": "# app\n", "tests/test_app.py": "x = 1\n",
        ".env.production": "DATABASE_URL=postgres://fake:fake@db/app\n", "big.bin": b"\0" * 3_000_000,
    }
    files.update(extra or {})
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (folder / "Dockerfile").write_text(dockerfile)
    if dockerignore is not None:
        (folder / ".dockerignore").write_text(dockerignore)
    return folder / "Dockerfile"


def remove_test_images(client: docker.DockerClient, prefix: str = "docker-diet-workshop/test-") -> None:
    """Remove every image the tests tagged (and only those), then the grader's dangling leftovers."""
    # The low-level listing: one call, no per-image inspect that an image removed meanwhile by another session
    # on the shared engine would turn into ImageNotFound.
    for image in client.api.images(filters={"label": PROJECT_LABEL}):
        tags = image.get("RepoTags") or []
        if any(tag.startswith(prefix) for tag in tags):
            for tag in tags:
                try:
                    client.api.remove_image(tag, force=True)
                except docker.errors.APIError:
                    pass
    for image in client.api.images(filters={"label": PROJECT_LABEL, "dangling": True}):
        try:
            client.api.remove_image(image["Id"], force=True)
        except docker.errors.APIError:
            pass


def grader_containers(client: docker.DockerClient, image_id: str | None = None) -> list[object]:
    """Containers the grader started (run and probe) for this image; must be empty after every grade.

    Filtered by image when given, because other sessions may be grading on the same engine at the same time."""
    found: list[object] = []
    for role in ("run", "probe"):
        filters: dict[str, object] = {"label": f"{PROJECT_LABEL}.role={role}"}
        if image_id:
            filters["ancestor"] = image_id
        found += client.containers.list(all=True, filters=filters)
    return found
