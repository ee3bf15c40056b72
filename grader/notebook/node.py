"""Lesson 02, multi-stage Node: who is PID 1 (a shell, npm or node, timed with `docker stop`), and what
`--omit=dev` and the older `--only=production` install."""

from __future__ import annotations

import json
from dataclasses import dataclass

from grader.dockerfile import replace_instruction
from grader.exercises import starting_dockerfile
from grader.notebook.image_api import build_app_image, build_image, run_command, stop_seconds
from grader.paths import APPS_DIR

__all__ = [
    "CMD_VARIANTS",
    "NPM_FLAGS",
    "NpmFlagResult",
    "READY_TEXT",
    "TINY_PACKAGE",
    "npm_flags_experiment",
    "pid1_experiment",
]

READY_TEXT = "listening on port"  # what apps/node-api prints once it serves


#: The same image with three ways to start the app; `docker stop` times each.
CMD_VARIANTS = {
    'CMD npm start  (shell form: /bin/sh is PID 1)': "CMD npm start",
    'CMD ["npm", "start"]  (npm is PID 1)': 'CMD ["npm", "start"]',
    'CMD ["node", "dist/main.js"]  (node is PID 1)': 'CMD ["node", "dist/main.js"]',
}


def pid1_experiment(grace_s: int = 10) -> dict[str, float]:
    """Seconds `docker stop` takes for the starting node-api image with each CMD (built from the build cache:
    only the last step differs). SIGTERM first; after `grace_s` seconds, SIGKILL."""
    text = starting_dockerfile("node-api")
    times = {}
    for index, (label, cmd) in enumerate(CMD_VARIANTS.items()):
        image = build_app_image(f"pid1-{index}", replace_instruction(text, "CMD", cmd), APPS_DIR / "node-api")
        times[label] = stop_seconds(image.tag, READY_TEXT, grace_s=grace_s)
    return times


#: A two-package project: one runtime dependency, one development dependency (both tiny, from the npm registry).
TINY_PACKAGE = {"name": "flags", "version": "1.0.0", "private": True,
                "dependencies": {"ms": "2.1.3"}, "devDependencies": {"is-number": "7.0.0"}}
NPM_FLAGS = ("--omit=dev", "--only=production", "--only=production=false")


@dataclass(frozen=True)
class NpmFlagResult:
    flag: str
    installed: tuple[str, ...]
    warnings: tuple[str, ...]


def npm_flags_experiment() -> list[NpmFlagResult]:
    """`npm install <flag>` on a tiny project, for each flag: which packages land in node_modules, and npm's
    warnings (npm 10 still honours `--only=production`, with a deprecation warning)."""
    results = []
    for index, flag in enumerate(NPM_FLAGS):
        dockerfile = ("FROM node:20-slim\nWORKDIR /p\nCOPY package.json ./\n"
                      f"RUN npm install {flag} --no-audit --no-fund > /p/npm.log 2>&1; cat /p/npm.log\n")
        image = build_image(f"npm-flag-{index}", dockerfile, {"package.json": json.dumps(TINY_PACKAGE)})
        _, listing = run_command(image.tag, ["sh", "-c", "ls node_modules; echo ---; cat npm.log"])
        names, _, log = listing.partition("---")
        warnings = tuple(line.strip() for line in log.splitlines() if "warn" in line.lower())
        results.append(NpmFlagResult(flag, tuple(names.split()), warnings))
    return results
