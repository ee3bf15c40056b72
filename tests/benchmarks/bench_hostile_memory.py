"""The grader's peak memory on images built to be hostile, up to the image size cap ([limits] image_max_mb).

    python tests/benchmarks/bench_hostile_memory.py [--only NAME ...] [--backend auto|classic|buildx] [--save]

Each image is built once under docker-diet-workshop/memory-bench:<name> (labelled with the project label, as every
grade is), then graded in a fresh subprocess (`grade()` as `workshop grade` calls it: build from cache, inspect,
run, checks) with empty layer and run caches. The subprocess's peak RSS comes from os.wait4 (the child and what it
waited for). `--save` also inspects each image through a streamed `docker save` (where overlay2 is not readable).
The images are removed at the end. Prints a Markdown table; the goal is every row under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import docker  # noqa: E402

TAG = "docker-diet-workshop/memory-bench"
GOAL_MB = 500

#: name -> RUN lines of a Dockerfile FROM debian:bookworm-slim; each stays under the default 4000 MB cap.
HOSTILE = {
    "sparse-3.5GB-file": "RUN truncate -s 3500M /big",
    "sparse-3.5GB-passwd": "RUN truncate -s 3500M /etc/passwd",
    "185MB-passwd": "RUN awk 'BEGIN{for(i=0;i<4000000;i++) printf \"user%d:x:%d:%d::/home/u:/bin/sh\\n\",i,i,i}' "
                    "> /etc/passwd",
    "1.2GB-dpkg-status": "RUN awk 'BEGIN{for(i=0;i<25000000;i++) printf \"Package: p%d\\nStatus: install ok "
                         "installed\\n\\n\",i}' > /var/lib/dpkg/status",
    "300k-empty-files": "RUN mkdir /many && cd /many && for d in $(seq 300); do mkdir $d && (cd $d && "
                       "seq 1000 | xargs touch); done",
    "600k-empty-files": "RUN mkdir /many && cd /many && for d in $(seq 600); do mkdir $d && (cd $d && "
                        "seq 1000 | xargs touch); done",
    "deep-tree-5000": "RUN perl -e 'for (1..5000) { mkdir \"dddd\" or die; chdir \"dddd\" or die } open F, \">.env\"'",
    "long-names-200k": "RUN mkdir /long && cd /long && n=$(printf 'n%.0s' $(seq 240)) && for d in $(seq 200); do "
                       "mkdir $d && (cd $d && for i in $(seq 1000); do : > $n$i; done); done",
    "3GB-package-json": "RUN mkdir -p /app/node_modules/x && truncate -s 3000M /app/node_modules/x/package.json",
}

_CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
import docker
from grader import api as api_module
from grader.api import GradeConfig, grade
from grader.engine import layer_cache
from grader.engine.inspect import clear_caches, inspect_image
from grader.settings import load_settings
dockerfile, tag, backend, source = sys.argv[1:5]
state = Path(tempfile.mkdtemp(prefix="memory-bench-"))
layer_cache.LAYER_CACHE_DIR, api_module.RUN_CACHE_DIR = state / "layers", state / "runs"
clear_caches()
started = time.monotonic()
if source == "grade":
    config = GradeConfig(backend=backend, baseline=False, lint=False, tag=tag, settings=load_settings("fastapi"),
                         app_dir=Path(dockerfile).parent)
    report = grade("fastapi", dockerfile, config=config)
    error = report.error.message if report.error else None
    facts = None if error else inspect_image(docker.from_env().api, tag, base_image="debian:bookworm-slim")
    notes = ([facts.unindexed or ""] + list(facts.truncated_files) if facts else []) + [
        f"{c.id} fails" for c in report.checks if "cannot tell" in (c.message or "")]
else:
    facts = inspect_image(docker.from_env().api, tag, source=source, use_disk_cache=False)
    notes, error = [facts.unindexed or ""] + list(facts.truncated_files), None
print(json.dumps({"seconds": time.monotonic() - started, "notes": notes, "error": error}))
"""


def _dockerfile(folder: Path, name: str) -> Path:
    (folder / "hello.txt").write_text("hello\n")
    path = folder / "Dockerfile"
    path.write_text(f"FROM debian:bookworm-slim\n{HOSTILE[name]}\nCMD [\"sleep\", \"2\"]\n")
    return path


def _measure(dockerfile: Path, tag: str, backend: str, source: str) -> tuple[float, dict[str, object]]:
    """(peak RSS in MB, the child's JSON) of one grade or inspection in a fresh process."""
    process = subprocess.Popen([sys.executable, "-c", _CHILD, str(dockerfile), tag, backend, source], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return usage.ru_maxrss / 1024, {"error": err.decode(errors="replace")[-400:], "seconds": float("nan")}
    return usage.ru_maxrss / 1024, json.loads(out.decode().splitlines()[-1])


def _build(api: docker.APIClient, dockerfile: Path, tag: str, backend: str) -> None:
    """Build once through the grader (the first grade), so the measured grade reuses the engine's cache."""
    _measure(dockerfile, tag, backend, "grade")
    api.inspect_image(tag)  # type: ignore[no-untyped-call]


def _row(api: docker.APIClient, name: str, folder: Path, args: argparse.Namespace) -> list[str]:
    tag = f"{TAG}:{name.lower()}"
    dockerfile = _dockerfile(folder, name)
    _build(api, dockerfile, tag, args.backend)
    size = int(api.inspect_image(tag)["Size"])  # type: ignore[no-untyped-call]
    peak, result = _measure(dockerfile, tag, args.backend, "grade")
    cells = [name, f"{size / 1e6:,.0f} MB", f"{peak:,.0f}", f"{float(result['seconds']):.1f}"]
    if args.save:
        save_peak, save_result = _measure(dockerfile, tag, args.backend, "save")
        cells += [f"{save_peak:,.0f}", f"{float(save_result['seconds']):.1f}"]
    note = result.get("error") or "; ".join(str(n) for n in result.get("notes", []) if n)  # type: ignore[union-attr]
    return [*cells, str(note)[:160].replace("|", "/")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(HOSTILE), default=sorted(HOSTILE))
    parser.add_argument("--backend", default="auto", choices=("auto", "classic", "buildx"))
    parser.add_argument("--save", action="store_true", help="also inspect each image through `docker save`")
    parser.add_argument("--keep", action="store_true", help="keep the images (to measure again)")
    args = parser.parse_args()
    api = docker.from_env().api
    header = ["image", "size", "grade peak RSS (MB)", "grade s"]
    header += ["save-inspect peak RSS (MB)", "save-inspect s"] if args.save else []
    print("| " + " | ".join([*header, "what the grade says"]) + " |")
    print("|" + " --- |" * (len(header) + 1), flush=True)
    started = time.monotonic()
    try:
        for name in args.only:
            with tempfile.TemporaryDirectory(prefix="memory-bench-") as folder:
                print("| " + " | ".join(_row(api, name, Path(folder), args)) + " |", flush=True)
    finally:
        if not args.keep:
            for name in args.only:
                try:
                    api.remove_image(f"{TAG}:{name.lower()}", force=True)
                except docker.errors.APIError:
                    pass
    print(f"\n{len(args.only)} images in {time.monotonic() - started:.0f} s; goal: every peak under {GOAL_MB} MB.")


if __name__ == "__main__":
    main()
