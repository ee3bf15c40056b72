"""Instruction flags read with the grammar of the engine's own builder, so a check sees what the build uses.

The PyPI parser under grader/dockerfile.py is another BuildKit build than the one in Docker 20.10's daemon, and
it gives flags as words only: it drops an ONBUILD trigger's flags, and it leaves the values (CSV mount fields,
stage or image) to the caller. Newer frontends also change the word grammar (from 1.15 they take the `# escape=`
token in flags, where the engine's BuildKit v0.8, vendored by Docker 20.10, whose classic builder uses the same
`instructions` package, always takes a backslash). So the grader reads flags itself, with the engine's version's
grammar, ported line for line:

    logical line --split_flags--> ("--mount=type=cache,id=x", ...)      parser/split_command.go extractBuilderFlags
    flag words ---check_flag_words--> refusals the builder makes       instructions/bflag.go BFlags.Parse
    --mount value --go_csv_record--> fields --parse_mount--> Mount     encoding/csv + instructions/commands_runmount.go
    ONBUILD line --onbuild_expression--> the trigger, parsed again     instructions/parse.go parseOnBuild

Go walks a flag byte by byte and turns each byte into a rune, so a non-ASCII character arrives as its UTF-8 bytes
read as Latin-1, and the bytes 0x85 and 0xA0 (inside many characters) count as spaces. The port does the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "STRINGS_FLAGS",
    "FlagError",
    "Mount",
    "check_flag_words",
    "flag_pairs",
    "go_csv_record",
    "onbuild_expression",
    "parse_mount",
    "source_names",
    "split_flags",
]

#: Go's unicode.IsSpace over Latin-1, the runes a byte-wise walk can meet.
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0")
#: Go's unicode.IsSpace for strings.TrimSpace, which decodes UTF-8 properly.
_GO_UNICODE_SPACE = "".join(_GO_SPACE) + "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
    "\u200a\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")  # parser.reWhitespace
_ONBUILD = re.compile(r"^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]+", re.IGNORECASE)  # Go's \s has no \v
#: Flags that may repeat (AddStrings); every other flag given twice is "Duplicate flag specified".
STRINGS_FLAGS = frozenset({"RUN --mount"})
_MOUNT_TYPES = frozenset({"bind", "cache", "tmpfs", "secret", "ssh"})
_SHARING = frozenset({"shared", "private", "locked"})


class FlagError(ValueError):
    """A flag the engine's builder refuses; the message is BuildKit's reason, in words a learner can act on."""


def split_flags(line: str) -> tuple[str, ...]:
    """The flag words of a logical line, as BuildKit v0.8's splitCommand/extractBuilderFlags make them: words
    that start with `--`, quotes removed, a backslash taking the next byte, up to the first other word or `--`."""
    parts = _WHITESPACE.split(line.strip(_GO_UNICODE_SPACE), maxsplit=1)
    if len(parts) < 2:
        return ()
    text = parts[1].encode("utf-8", "surrogatepass").decode("latin-1")  # Go: rune(line[pos]), byte by byte
    words: list[str] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _GO_SPACE:
            pos += 1
        if not text.startswith("--", pos):
            return tuple(words)
        word, pos = _flag_word(text, pos)
        if word == "--":
            return tuple(words)
        words.append(word)


def _flag_word(text: str, pos: int) -> tuple[str, int]:
    """One word from `pos` to the next unquoted space: (the word, the position after it)."""
    word: list[str] = []
    quote = ""
    while pos < len(text):
        ch = text[pos]
        last = pos + 1 == len(text)
        if quote and (ch == quote or (ch == "\\" and last)):  # a backslash at the end also ends the quote
            quote = ""
        elif not quote and ch in _GO_SPACE:
            break
        elif not quote and ch in "'\"":
            quote = ch
        elif ch == "\\":
            if not last:
                pos += 1
                word.append(text[pos])
        else:
            word.append(ch)
        pos += 1
    return "".join(word), pos


def flag_pairs(flags: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    """(name, value) of each flag word, as BFlags.Parse splits it: value None when there is no `=`."""
    pairs: list[tuple[str, str | None]] = []
    for flag in flags:
        name, equals, value = flag[2:].partition("=")
        pairs.append((name, value if equals else None))
    return tuple(pairs)


def check_flag_words(keyword: str, flags: tuple[str, ...], known: Mapping[str, frozenset[str]]) -> None:
    """Raise FlagError for what BFlags.Parse refuses: an unknown flag (names are case-sensitive: `--FROM` is not
    `--from`), a flag without `=value`, a flag given twice that may not repeat."""
    seen: set[str] = set()
    allowed = known.get(keyword, frozenset())
    for name, value in flag_pairs(flags):
        if name not in allowed:
            raise FlagError(f"this engine's Dockerfile frontend has no `{keyword} --{name[:40]}`; remove the flag "
                            f"(flags it knows for {keyword}: {', '.join(sorted(allowed)) or 'none'}; names are "
                            "lower-case)")
        if value is None:
            raise FlagError(f"`--{name}` needs a value written with `=`, e.g. `--{name}=...` (the builder does "
                            "not take the next word as the value)")
        if name in seen and f"{keyword} --{name}" not in STRINGS_FLAGS:
            raise FlagError(f"`--{name}` is given twice; the builder refuses a repeated `--{name}`")
        seen.add(name)


def onbuild_expression(line: str) -> str:
    """The trigger an ONBUILD stores, which the builder parses again when a stage starts FROM it."""
    return _ONBUILD.sub("", line, count=1)


# ------------------------------------------------------------------------------------------- --mount
def go_csv_record(value: str) -> tuple[str, ...]:
    """The first record of `value` as Go's encoding/csv Reader.Read gives it (comma, no lazy quotes)."""
    line = value.split("\n", 1)[0] if "\n" in value else value.removesuffix("\r")
    if not line:
        raise FlagError("a `--mount` needs fields, e.g. `--mount=type=cache,target=/root/.npm`")
    fields: list[str] = []
    pos = 0
    while True:
        if not line.startswith('"', pos):
            end = line.find(",", pos)
            field = line[pos:] if end < 0 else line[pos:end]
            if '"' in field:
                raise FlagError(f'a `"` inside the unquoted --mount field `{field[:40]}`; quote the whole field '
                                'as `"key=value"` (a quote inside it is written `""`)')
            fields.append(field)
            if end < 0:
                return tuple(fields)
            pos = end + 1
            continue
        pos, field_chars = pos + 1, []
        while True:
            end = line.find('"', pos)
            if end < 0:
                raise FlagError("an unclosed `\"` in a --mount value")
            field_chars.append(line[pos:end])
            pos = end + 1
            if line.startswith('"', pos):
                field_chars.append('"')
                pos += 1
                continue
            break
        fields.append("".join(field_chars))
        if pos == len(line):
            return tuple(fields)
        if line[pos] != ",":
            raise FlagError('text after a closing `"` in a --mount value; end the quoted field with `",`')
        pos += 1


@dataclass(frozen=True)
class Mount:
    """One `RUN --mount`, as BuildKit's parseMount fills it (later fields override earlier ones)."""

    type: str = "bind"
    source_image: str = ""  # from=
    source: str = ""
    target: str = ""
    cache_id: str = ""

    @property
    def image_source(self) -> str | None:
        """The stage or image the mount reads, if any: BuildKit ignores `from` on tmpfs; a cache without one
        starts empty."""
        return self.source_image if self.source_image and self.type != "tmpfs" else None


_BOOL = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})
_VALUE_RULES = {"readonly": _BOOL, "ro": _BOOL, "readwrite": _BOOL, "rw": _BOOL, "required": _BOOL}


def _checked(key: str, value: str, mount_type: str) -> None:
    if key in _VALUE_RULES and value not in _VALUE_RULES[key]:
        raise FlagError(f"invalid value for {key}: {value[:40]}")
    if key == "required" and mount_type not in ("secret", "ssh"):
        raise FlagError(f"unexpected key 'required' for mount type '{mount_type}'")
    if key == "sharing" and value.lower() not in _SHARING:
        raise FlagError(f"unsupported sharing value {value[:40]!r} (shared, private or locked)")
    base = {"mode": 8, "uid": 10, "gid": 10}.get(key)
    digits = "01234567" if base == 8 else "0123456789"
    if base and not (value and all(c in digits for c in value) and int(value, base) < 2**32):
        raise FlagError(f"invalid value {value[:40]} for {key}")


def parse_mount(value: str) -> Mount:
    """A `--mount` value read as BuildKit v0.8's parseMount reads it (keys case-insensitive, CSV quoting)."""
    kind, fields = "bind", {"from": "", "source": "", "target": "", "id": ""}
    extras: set[str] = set()
    for field in go_csv_record(value):
        key, equals, item = field.partition("=")
        key = key.lower()
        if not equals and key in ("readonly", "ro", "readwrite", "rw", "required"):
            _checked(key, "true", kind)
            continue
        if not equals:
            raise FlagError(f"invalid --mount field '{field[:40]}' must be a key=value pair")
        if key == "type":
            if item.lower() not in _MOUNT_TYPES:
                raise FlagError(f"unsupported mount type {item[:40]!r} (bind, cache, tmpfs, secret or ssh)")
            kind = item.lower()
        elif key in ("from", "id"):
            fields[key] = item
        elif key in ("source", "src"):
            fields["source"] = item
        elif key in ("target", "dst", "destination"):
            fields["target"] = item
        elif key in ("readonly", "ro", "readwrite", "rw", "required", "sharing", "mode", "uid", "gid"):
            _checked(key, item, kind)
            extras.add({"ro": "readonly", "rw": "readonly", "readwrite": "readonly"}.get(key, key))
        else:
            raise FlagError(f"unexpected key '{key[:40]}' in '{field[:60]}'")
    _check_mount(kind, fields, extras)
    return Mount(kind, fields["from"], fields["source"], fields["target"], fields["id"])


def _check_mount(kind: str, fields: Mapping[str, str], extras: set[str]) -> None:
    """The cross-field rules at the end of parseMount."""
    for key in ("mode", "uid", "gid"):
        if key in extras and kind not in ("secret", "ssh", "cache"):
            raise FlagError(f"{key} not allowed for {kind!r} type mounts")
    if "sharing" in extras and kind != "cache":
        raise FlagError(f"invalid cache sharing set for {kind} mount")
    if kind == "secret":
        if fields["from"]:
            raise FlagError("secret mount should not have a from")
        if not (fields["source"] or fields["target"] or fields["id"]):
            raise FlagError("invalid secret mount. one of source, target required")
        if fields["source"] and fields["id"]:
            raise FlagError("both source and id can't be set")


def source_names(keyword: str, flags: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(where, name) of each stage or image an instruction reads besides its own stage: `COPY --from=`,
    `RUN --mount=...,from=`. The engine's builder does not expand build arguments in either (it reads `$X`
    literally, an invalid name), so a `$` is refused here with the reason."""
    found: list[tuple[str, str]] = []
    for name, value in flag_pairs(flags):
        if value is None:
            continue
        if keyword in ("COPY", "ADD") and name == "from":
            found.append((f"{keyword} --from", value))
        elif keyword == "RUN" and name == "mount" and (source := parse_mount(value).image_source):
            found.append(("RUN --mount from=", source))
    for where, source in found:
        if "$" in source:
            raise FlagError(f"{where} `{source[:60]}`: this engine's builder does not expand build arguments "
                            "there (it would look for an image literally named so); write the stage or image name")
    return tuple(found)
