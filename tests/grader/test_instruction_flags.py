"""The ported grammar against the Go code's own expectations: BuildKit v0.8's parser test files, its shell lexer's
test vectors (buildkit_envVarTest), encoding/csv's and parseMount's rules. Pure: no engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.build_args import ExpansionError, MetaArgs, expand_word
from grader.instruction_flags import FlagError, go_csv_record, onbuild_expression, parse_mount, split_flags

#: BuildKit v0.8.3 frontend/dockerfile/parser/testfiles/flags, plus what extractBuilderFlags does with quotes,
#: backslashes, `--` and the bytes Go takes for spaces.
FLAG_WORDS = [
    ("COPY foo /tmp/", ()),
    ("COPY --user=me foo /tmp/", ("--user=me",)),
    ("COPY --user=me --doit=true foo /tmp/", ("--user=me", "--doit=true")),
    ("COPY --doit=true -- foo /tmp/", ("--doit=true",)),
    ("COPY -- foo /tmp/", ()),
    ('CMD --doit [ "a", "b" ]', ("--doit",)),
    ("CMD --doit -- [ ]", ("--doit",)),
    ('COPY --from="a b" x y', ("--from=a b",)),
    ("COPY --from='a\"b' x y", ('--from=a"b',)),
    ('COPY --"from"=x a b', ("--from=x",)),
    ("COPY --from=a\\ b x y", ("--from=a b",)),
    ("COPY --from=a\\", ("--from=a",)),
    ('COPY --from="a\\', ("--from=a",)),
    ("COPY -x --from=a b c", ()),
    ("COPY --from=a\u00a0b c d", ("--from=a\u00c2",)),  # U+00A0 is C2 A0: Go reads A0 as a space
    ("RUN --mount=type=bind,\"from=evil\" --mount=\"type=cache,target=/x\" true",
     ("--mount=type=bind,from=evil", "--mount=type=cache,target=/x")),
]


@pytest.mark.parametrize("line, words", FLAG_WORDS)
def test_flag_words_are_split_as_buildkit_v08_splits_them(line: str, words: tuple[str, ...]) -> None:
    assert split_flags(line) == words


@pytest.mark.parametrize("value, fields", [
    ("a,b,c", ("a", "b", "c")),
    ('"a,b",c', ("a,b", "c")),
    ('"a""b",c', ('a"b', "c")),
    ("a,,b", ("a", "", "b")),
    ("a,", ("a", "")),
    ('""', ("",)),
    ("a\r", ("a",)),
])
def test_mount_values_are_read_as_go_csv(value: str, fields: tuple[str, ...]) -> None:
    assert go_csv_record(value) == fields


@pytest.mark.parametrize("value", ["", 'a"b', '"ab', '"a"b', "\r"])
def test_go_csv_refuses_what_go_refuses(value: str) -> None:
    with pytest.raises(FlagError):
        go_csv_record(value)


def test_mount_fields_follow_parse_mount() -> None:
    assert parse_mount("from=a,target=/x").type == "bind"  # bind by default
    assert parse_mount("FROM=a,from=b,TARGET=/x").image_source == "b"  # keys fold case; the last one wins
    assert parse_mount("type=tmpfs,from=a,target=/x").image_source is None  # tmpfs ignores from
    assert parse_mount("type=cache,target=/x").image_source is None  # a cache without from starts empty
    assert parse_mount("type=cache,dst=/x,ID=n").cache_id == "n"
    for bad in ("type=bind, from=a", "type=nfs", "ro=maybe", "type=bind,sharing=shared", "type=bind,mode=0700",
                "type=secret,from=a,target=/x", "type=bind,required", "from"):
        with pytest.raises(FlagError):
            parse_mount(bad)


def test_onbuild_keeps_the_trigger_as_written() -> None:
    assert onbuild_expression("  onbuild\tCOPY --from=x a b") == "COPY --from=x a b"


def _vectors() -> list[tuple[str, str]]:
    lines = Path(__file__).with_name("buildkit_envVarTest").read_text().splitlines()
    found = []
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        where, source, expected = (word.strip() for word in line.split("|"))
        if where != "W":
            found.append((source, expected))
    return found


def test_word_expansion_matches_buildkits_own_test_vectors() -> None:
    env = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}
    agreed = refused = 0
    for source, expected in _vectors():
        try:
            got: str | None = expand_word(source, env)
        except ExpansionError:
            got = None
        if got is None and expected != "error" and "?" in source:
            refused += 1  # ${X?} / ${X:?}: the back ends disagree on an ARG without a value, so refused
            continue
        assert got == (None if expected == "error" else expected), source
        agreed += 1
    assert agreed >= 200 and refused <= 5


def test_from_arguments_resolve_in_order_and_refuse_what_the_back_ends_read_differently() -> None:
    args = MetaArgs()
    args.declare(("A=python", 'B="${A}:3.11-slim"', "C"))
    assert args.expand("$B") == "python:3.11-slim" and args.expand("${C:-node:20}") == "node:20"
    with pytest.raises(ExpansionError, match="classic builder"):
        args.expand("${TARGETARCH:-evil}")
    with pytest.raises(ExpansionError, match="reserved"):
        args.declare(("BUILDKIT_CACHE_MOUNT_NS=x",))
