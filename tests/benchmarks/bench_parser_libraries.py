"""Three Dockerfile parsers against the corpus of tests/grader/dockerfile_corpus/ and Docker's recorded verdicts.

    .venv/bin/pip install dockerfile-parse   # optional, not a project dependency (its row is skipped without it)
    .venv/bin/python tests/benchmarks/bench_parser_libraries.py [--runs 50]

The grader's row is the whole of parse_dockerfile (BuildKit's tokenizer, the engine's rules, the model).
To time another version of grader/, put a checkout of it first: `PYTHONPATH=/tmp/old .venv/bin/python ...`.

For each parser: on how many files its accept/reject agrees with BuildKit's verdict on this engine, on how
many accepted files it finds the same instructions at the same lines as BuildKit's own parser (PyPI
`dockerfile`), and how long one file takes. Raw libraries only tokenize: the rules of BuildKit's
instructions.Parse (flags, argument counts, ...) are not theirs, which the table shows.
Prints Markdown.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "grader"))

from dockerfile_verdicts import CORPUS, load_verdicts  # noqa: E402 - the corpus helper lives beside its test

#: (keyword, start line) per instruction, or None when the parser refuses the text.
Shape = tuple[tuple[str, int], ...] | None


def grader_parser(text: str) -> Shape:
    from grader.dockerfile import parse_dockerfile
    from grader.errors import DockerfileError

    try:
        info = parse_dockerfile(text)
    except DockerfileError:
        return None
    except Exception:  # noqa: BLE001 - a crash is a refusal here; test_parser_corpus reports it as a bug
        return None
    froms = tuple(("FROM", stage.line) for stage in info.stages)
    return tuple(sorted(froms + tuple((i.keyword, i.line) for i in info.all_instructions()), key=lambda x: x[1]))


def buildkit_parser(text: str) -> Shape:
    import dockerfile

    try:
        return tuple((c.cmd.upper(), c.start_line) for c in dockerfile.parse_string(text))
    except dockerfile.GoParseError:
        return None


def dockerfile_parse(text: str) -> Shape:
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), cache_content=True)
    return tuple((s["instruction"].upper(), s["startline"] + 1) for s in parser.structure
                 if s["instruction"] != "COMMENT") or None


def from_first_from(shape: Shape) -> Shape:
    """Drop the ARGs before the first FROM: the grader keeps them as global defaults, not as instructions."""
    if shape is None:
        return None
    first = next((index for index, (keyword, _) in enumerate(shape) if keyword == "FROM"), 0)
    return shape[first:]


PARSERS: dict[str, Callable[[str], Shape]] = {
    "grader (grader/dockerfile.py)": grader_parser,
    "`dockerfile` 3.4.0 (BuildKit v0.12.5 parser)": buildkit_parser,
    "`dockerfile-parse` 2.0.1": dockerfile_parse,
}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=50)
    runs = options.parse_args().runs
    cases = load_verdicts()
    texts = {name: (CORPUS / f"{name}.Dockerfile").read_bytes().decode() for name in sorted(cases)}
    decided = {name: case["buildkit"] for name, case in cases.items() if case["buildkit"] in {"accept", "reject"}}
    reference = {name: buildkit_parser(text) for name, text in texts.items()}
    print(f"{len(texts)} corpus files; {len(decided)} with a BuildKit verdict "
          f"({sum(v == 'accept' for v in decided.values())} accepted).\n")
    print("| parser | verdict agrees with BuildKit | same instructions & lines (accepted files) | µs per file |")
    print("| --- | --- | --- | --- |")
    for label, parse in PARSERS.items():
        if parse is dockerfile_parse and importlib.util.find_spec("dockerfile_parse") is None:
            print(f"| {label} | not installed | | |")
            continue
        shapes = {name: parse(text) for name, text in texts.items()}
        agree = [name for name, verdict in decided.items() if (shapes[name] is not None) == (verdict == "accept")]
        accepted = [name for name, verdict in decided.items() if verdict == "accept"]
        same = [name for name in accepted if from_first_from(shapes[name]) == from_first_from(reference[name])]
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            for text in texts.values():
                parse(text)
            timings.append((time.perf_counter() - started) / len(texts))
        print(f"| {label} | {len(agree)}/{len(decided)} | {len(same)}/{len(accepted)} | "
              f"{statistics.median(timings) * 1e6:.0f} |")
        wrong = sorted(set(accepted) - set(same))
        if wrong:
            print(f"|  ↳ differs on | {', '.join(n.split('-')[0] for n in wrong)} | | |")


if __name__ == "__main__":
    main()
