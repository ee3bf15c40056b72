"""Grade one Dockerfile in this process, as `workshop grade` does, with the grader's caches under STATE; print the
result as one JSON line. The parent measures this process (os.wait4) or kills it.

    python grade_child.py DOCKERFILE TAG STATE [normal|die-on-second-store]

`die-on-second-store` SIGKILLs this process the moment the second layer index is about to be renamed into place:
a grade killed during inspection, at the worst instant for a cache.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker  # noqa: E402

from grader import api as api_module  # noqa: E402
from grader.api import GradeConfig, grade  # noqa: E402
from grader.engine import cache_files, layer_cache  # noqa: E402
from grader.engine.inspect import inspect_image  # noqa: E402
from grader.settings import load_settings  # noqa: E402


def _die_on_second_store(layers: Path) -> None:
    calls = []
    replace = os.replace

    def dying_replace(source: str, target: str) -> None:
        if Path(target).parent == layers:
            calls.append(target)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        replace(source, target)

    cache_files.os.replace = dying_replace  # type: ignore[attr-defined]


def own_peak_mb() -> float:
    """This process's own peak resident memory (VmHWM of its address space). Not ru_maxrss: Linux carries the
    pre-exec high-water mark of the process that forked us into it, so a large test runner would count as ours."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return -1.0


def main() -> None:
    dockerfile, tag, state = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    if len(sys.argv) > 4 and sys.argv[4] == "die-on-second-store":
        _die_on_second_store(state / "layers")
    layer_cache.LAYER_CACHE_DIR, api_module.RUN_CACHE_DIR = state / "layers", state / "runs"
    config = GradeConfig(baseline=False, lint=False, tag=tag, settings=load_settings("fastapi"),
                         app_dir=dockerfile.parent)
    report = grade("fastapi", dockerfile, config=config)
    facts = None
    if report.error is None:
        facts = inspect_image(docker.from_env().api, tag, base_image=report.base_image)
    print(json.dumps({
        "error": report.error.message if report.error else None,
        "checks": {c.id: [c.status.value, c.message] for c in report.checks},
        "unindexed": facts.unindexed if facts else None,
        "truncated_files": list(facts.truncated_files) if facts else [],
        "peak_mb": own_peak_mb(),
    }))


if __name__ == "__main__":
    main()
