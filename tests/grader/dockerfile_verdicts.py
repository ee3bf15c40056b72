"""Docker's own verdict on each Dockerfile of tests/grader/dockerfile_corpus/, asked of the real engine.

`python tests/grader/dockerfile_verdicts.py` builds every corpus file with the classic builder
(`DOCKER_BUILDKIT=0 docker build`) and with BuildKit (`docker buildx build`) and rewrites verdicts.toml.
test_parser_corpus.py reads that file (no engine needed) and re-asks the engine for a few cases.

A verdict is about parsing, not about running: "accept" means the engine read the file and started
executing it (a RUN that fails, a missing base image or context file still counts as accepted);
"reject" means the engine refused the text itself (parse error, unknown instruction or flag, bad
argument count, invalid image reference...). Builds are tiny: `scratch` or the local
debian:bookworm-slim stand-in, RUN steps are `true`/`echo`, the context holds one small file.
The committed Dockerfiles (01-07) are probed, not built: `--target` names a stage that does not
exist, so the engine parses the whole file and stops before running anything (they need the apps
and minutes of CPU; the suite builds them for real elsewhere).
Every image made here carries LABEL and is removed afterwards, by that label or by the ids the
build printed; nothing else is touched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "dockerfile_corpus"
VERDICTS = CORPUS / "verdicts.toml"
LABEL = "io.docker-diet-workshop=test-corpus"
PROBE_TARGET = "corpus-parse-probe"
BACKENDS = ("classic", "buildkit")

#: Corpus files built by neither back end's full path: `# syntax=` makes BuildKit pull a frontend image
#: from a registry (none is reachable). The classic builder reads it as a comment, so it is still built there.
PARSE_ONLY = {"42-syntax-directive-parse-only": ("buildkit",)}
#: Committed Dockerfiles: probed with a missing --target instead of built.
PROBED_PREFIXES = ("01-", "02-", "03-", "04-", "05-", "06-", "07-")

#: Texts by which an engine refuses a Dockerfile itself (checked first).
_REJECT = re.compile(
    r"dockerfile parse error|unknown instruction|unknown flag|failed to parse|syntax error|"
    r"invalid reference format|cannot be empty|no build stage|escape parser directive|invalid escape|"
    r"requires (?:at least |exactly )?"
    r"(?:one|two|either|the arguments)|must have two arguments|isn't allowed as an onbuild|chaining onbuild|"
    r"requires buildkit|file with no instructions|invalid stage name|duplicate stage|unknown type|"
    r"no image was generated|dockerfile contains no stages|not supported|already used|unexpected end of statement",
    re.IGNORECASE,
)
#: Texts by which a build fails while executing an accepted file.
_EXECUTION = re.compile(
    r"returned a non-zero code|did not complete successfully|copy failed|failed to compute cache key|"
    r"pull access denied|failed to resolve source metadata|repository does not exist|"
    r"failed to reach build target|target stage .* could not be found|no such host|"
    r"failed to do request|manifest unknown|not found: not found",
    re.IGNORECASE,
)
_LINE = re.compile(r"(?:line |Dockerfile:)(\d+)")


@dataclass(frozen=True)
class EngineVerdict:
    """What one back end said about one file: "accept", "reject" or "not-built", and why."""

    verdict: str
    detail: str
    line: int | None = None


def _engine_lines(output: str) -> list[str]:
    """The engine's own lines: not the echo of a step (`Step 2/3 : RUN ...`, `#5 [2/3] RUN ...`)."""
    return [line.strip() for line in output.splitlines()
            if line.strip() and not re.match(r"\s*(Step \d+/\d+ :|#\d+ \[)", line)]


def classify(returncode: int, output: str) -> EngineVerdict:
    """Turn a build's exit code and output into a parse-level verdict."""
    lines = [re.sub(r"\.dockerfile\.[0-9a-f]+", "Dockerfile", line) for line in _engine_lines(output)]
    rejected = next((line for line in lines if _REJECT.search(line) and not _EXECUTION.search(line)), None)
    if rejected is not None:
        found = _LINE.search(rejected)
        return EngineVerdict("reject", rejected[:300], int(found.group(1)) if found else None)
    if returncode == 0:
        return EngineVerdict("accept", "built")
    executing = next((line for line in lines if _EXECUTION.search(line)), None)
    if executing is not None:
        return EngineVerdict("accept", f"parsed; failed while executing: {executing[:300]}")
    return EngineVerdict("unknown", lines[-1][:300] if lines else f"exit {returncode}, no output")


def _command(backend: str, dockerfile: Path, context: Path, probe: bool) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    common = ["--label", LABEL, "-f", str(dockerfile)]
    if probe:
        common += ["--target", PROBE_TARGET]
    if backend == "classic":
        env["DOCKER_BUILDKIT"] = "0"
        return ["docker", "build", "--force-rm", "--pull=false", *common, str(context)], env
    return ["docker", "buildx", "build", "--load", "--pull=false", "--progress=plain", *common, str(context)], env


def _all_image_ids() -> set[str]:
    out = subprocess.run(["docker", "image", "ls", "-a", "-q", "--no-trunc"], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def _remove_made_images(output: str, before: set[str]) -> None:
    """Remove the labelled images, and the untagged step images this build printed and nobody had before."""
    labelled = subprocess.run(["docker", "image", "ls", "-a", "-q", "--filter", f"label={LABEL}"],
                              capture_output=True, text=True, check=True).stdout.split()
    printed = re.findall(r"---> ([0-9a-f]{12})\b", output) + re.findall(r"Successfully built ([0-9a-f]{12})", output)
    fresh = [short for short in printed if not any(full.startswith(f"sha256:{short}") for full in before)]
    for image in [*labelled, *reversed(fresh)]:
        subprocess.run(["docker", "image", "rm", image], capture_output=True, text=True, check=False)


def engine_verdict(name: str, backend: str, timeout: float = 180) -> EngineVerdict:
    """Build corpus file `name` with `backend` in a one-file context, then remove what the build made."""
    if backend in PARSE_ONLY.get(name, ()):
        return EngineVerdict("not-built", "parse-only case: `# syntax=` would pull a frontend image")
    dockerfile = CORPUS / f"{name}.Dockerfile"
    with tempfile.TemporaryDirectory(prefix="corpus-context-") as context:
        Path(context, "hello.txt").write_text("hello\n")
        command, env = _command(backend, dockerfile, Path(context), name.startswith(PROBED_PREFIXES))
        before = _all_image_ids()
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
            output, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            output, code = f"timed out after {timeout}s: {exc.stdout!r}", -1
        _remove_made_images(output, before)
    return classify(code, output)


def corpus_names() -> list[str]:
    return sorted(path.name.removesuffix(".Dockerfile") for path in CORPUS.glob("*.Dockerfile"))


def load_verdicts() -> dict[str, dict[str, object]]:
    """The recorded verdicts, by corpus file name (without .Dockerfile)."""
    with VERDICTS.open("rb") as handle:
        cases: dict[str, dict[str, object]] = tomllib.load(handle)["cases"]
    return cases


def _engine_versions() -> dict[str, str]:
    server = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True,
                            check=False).stdout
    buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True, text=True, check=False).stdout.split()
    builders = subprocess.run(["docker", "buildx", "inspect"], capture_output=True, text=True, check=False).stdout
    buildkit = re.search(r"BuildKit(?: version)?:\s*(\S+)", builders)
    return {"docker_server": server.strip(), "buildx": buildx[1] if len(buildx) > 1 else "?",
            "buildkit": buildkit.group(1) if buildkit else "?"}


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _write(results: dict[str, dict[str, EngineVerdict]], recorded: dict[str, dict[str, object]]) -> None:
    versions = _engine_versions()
    lines = [
        "# Docker's verdict on each corpus file, recorded by `python tests/grader/dockerfile_verdicts.py`.",
        "# accept = the engine parsed the file (a later execution failure still counts); reject = it refused the text;",
        "# not-built = parse-only case, deliberately not given to that back end. line = the line Docker's error names.",
        "",
        "[engine]",
        *(f"{key} = {_toml_string(value)}" for key, value in versions.items()),
        "",
    ]
    for name, by_backend in results.items():
        lines.append(f'[cases."{name}"]')
        for backend in BACKENDS:
            verdict = by_backend[backend]
            lines.append(f"{backend} = {_toml_string(verdict.verdict)}")
            lines.append(f"{backend}_says = {_toml_string(verdict.detail)}")
            if verdict.line is not None:
                lines.append(f"{backend}_line = {verdict.line}")
        method = "probe" if name.startswith(PROBED_PREFIXES) else "build"
        lines.append(f"method = {_toml_string(method)}")
        if "expect" in recorded.get(name, {}):
            lines.append(f"expect = {_toml_string(str(recorded[name]['expect']))}")
        lines.append(f"note = {_toml_string(str(recorded.get(name, {}).get('note', '')))}")
        lines.append("")
    VERDICTS.write_text("\n".join(lines))


def _recorded(case: dict[str, object], backend: str) -> EngineVerdict:
    line = case.get(f"{backend}_line")
    return EngineVerdict(str(case[backend]), str(case[f"{backend}_says"]), line if isinstance(line, int) else None)


def main(names: list[str]) -> int:
    """Record `names` (default: every corpus file), keep the other recorded cases and every note."""
    recorded = load_verdicts() if VERDICTS.exists() else {}
    results = {name: {backend: _recorded(case, backend) for backend in BACKENDS} for name, case in recorded.items()}
    for name in names or corpus_names():
        results[name] = {backend: engine_verdict(name, backend) for backend in BACKENDS}
        print(name, *(f"{b}={v.verdict}" for b, v in results[name].items()), flush=True)
    results = {name: results[name] for name in corpus_names()}
    _write(results, recorded)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
