"""Cold and warm build times of the six reference images: the numbers behind the article's 8m30s -> 2m15s.

    .venv/bin/python tests/benchmarks/build_times.py [--apps node-api,fastapi] [--kinds naive,solution]

Cold: `--no-cache` (base images local, dependencies downloaded and compiled). Warm: the same build after a
one-line change to the app's source, which is the everyday case: a good Dockerfile reuses its dependency layers,
the naive one reinstalls everything after `COPY . .`. Prints a table; asserts nothing (targets live here, not in
timed tests).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import docker

from grader.context import assemble_context
from grader.exercises import ignore_file_for
from grader.paths import APPS_DIR, EXERCISES, EXERCISES_DIR, PROJECT_LABEL, SOLUTIONS_DIR

#: The source file a developer touches in each app; one line is appended to it for the warm build.
EDITED_SOURCE = {"node-api": "src/main.ts", "fastapi": "app/main.py", "combined": "backend/src/server.ts"}


def build_seconds(client: docker.DockerClient, app_dir: Path, folder: Path, tag: str, nocache: bool) -> float:
    ignore = ignore_file_for(folder / "Dockerfile")
    context = assemble_context(app_dir, (folder / "Dockerfile").read_text(),
                               ignore.read_text() if ignore else None)
    started = time.monotonic()
    for chunk in client.api.build(fileobj=context.tar, custom_context=True, tag=tag, nocache=nocache, rm=True,
                                  forcerm=True, decode=True, labels={PROJECT_LABEL: "benchmark"}, pull=False):
        if "error" in chunk:
            raise SystemExit(f"{folder / 'Dockerfile'}: {chunk['error']}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default=",".join(EXERCISES))
    parser.add_argument("--kinds", default="naive,solution")
    args = parser.parse_args()
    client = docker.from_env(timeout=1800)
    rows = []
    for app in args.apps.split(","):
        for kind in args.kinds.split(","):
            folder = (EXERCISES_DIR if kind == "naive" else SOLUTIONS_DIR) / app
            tag = f"docker-diet-workshop/benchmark-{app}:{kind}"
            with tempfile.TemporaryDirectory() as tmp:
                app_copy = Path(tmp) / app
                shutil.copytree(APPS_DIR / app, app_copy)
                cold = build_seconds(client, app_copy, folder, tag, nocache=True)
                edited = app_copy / EDITED_SOURCE[app]
                comment = "#" if edited.suffix == ".py" else "//"
                edited.write_text(edited.read_text() + f"\n{comment} a one-line change\n")
                warm = build_seconds(client, app_copy, folder, tag, nocache=False)
            size = int(client.images.get(tag).attrs["Size"])
            client.images.remove(tag, force=True)
            rows.append((app, kind, size, cold, warm))
            print(f"  measured {app} {kind}", flush=True)
    print(f"\n{'app':10} {'image':9} {'size':>9} {'cold build':>11} {'warm build':>11}")
    for app, kind, size, cold, warm in rows:
        print(f"{app:10} {kind:9} {size / 1e6:7.0f} MB {cold:10.0f}s {warm:10.0f}s")


if __name__ == "__main__":
    main()
