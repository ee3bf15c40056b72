"""Build arguments in `FROM`, resolved as the builder resolves them, or refused when that cannot be done.

`ARG IMG=python:3.11-slim` before the first FROM, then `FROM ${IMG}`: the image is only known after expansion,
so the allow-list and the learner-built-image refusal must expand the word exactly as the builder does, with
BuildKit's shell lexer (frontend/dockerfile/shell/lex.go, ported here: quotes, the escape token, `$X`, `${X}`,
`${X:-word}`, `${X:+word}`). The two back ends differ in one way that matters: BuildKit predefines the platform
arguments (TARGETARCH, ...) and the classic builder does not, so a word is expanded with both sets and refused if
the two results differ. `${X?}` and `${X:?}` are refused (the back ends disagree on an ARG without a value). The
grader passes no build arguments except BUILDKIT_CACHE_MOUNT_NS, so declaring that one before FROM is refused.
"""

from __future__ import annotations

import platform
import unicodedata
from collections.abc import Mapping

__all__ = ["CACHE_NAMESPACE_ARG", "RESERVED_ARGS", "ExpansionError", "MetaArgs", "expand_word", "platform_args"]

#: The build argument BuildKit's Dockerfile frontend reads as the cache-mount namespace (keyCacheNS), which
#: grader/engine/buildkit.py passes.
CACHE_NAMESPACE_ARG = "BUILDKIT_CACHE_MOUNT_NS"
#: Build arguments the grader passes itself: a Dockerfile may not take them as FROM input.
RESERVED_ARGS = frozenset({CACHE_NAMESPACE_ARG})
_SPECIAL = frozenset("@*#?-$!0")


class ExpansionError(ValueError):
    """A word the builder cannot expand, or that the two back ends expand differently."""


def platform_args() -> dict[str, str]:
    """The arguments BuildKit predefines (getPlatformArgs), for this machine's engine."""
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(platform.machine(), platform.machine())
    values = {"PLATFORM": f"linux/{arch}", "OS": "linux", "ARCH": arch, "VARIANT": ""}
    return {f"{when}{what}": value for when in ("BUILD", "TARGET") for what, value in values.items()}


class _Lexer:
    """shell.Lex's shellWord over one word, with a map of arguments (ProcessWordWithMap)."""

    def __init__(self, word: str, env: Mapping[str, str], escape: str) -> None:
        self.word, self.pos, self.env, self.escape = word, 0, env, escape

    def peek(self) -> str:
        return self.word[self.pos] if self.pos < len(self.word) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def until(self, stop: str) -> str:
        result: list[str] = []
        while self.peek():
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(result)
            if ch == "'":
                result.append(self.single_quote())
            elif ch == '"':
                result.append(self.double_quote())
            elif ch == "$":
                result.append(self.dollar())
            else:
                ch = self.next()
                if ch == self.escape:
                    ch = self.next()
                    if not ch:
                        break
                result.append(ch)
        if stop:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result)

    def single_quote(self) -> str:
        self.next()
        end = self.word.find("'", self.pos)
        if end < 0:
            raise ExpansionError("unexpected end of statement while looking for matching single-quote")
        text, self.pos = self.word[self.pos:end], end + 1
        return text

    def double_quote(self) -> str:
        self.next()
        result: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                return "".join(result)
            if ch == "$":
                result.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if not self.peek():
                    continue
                if self.peek() in ('"', "$", self.escape):
                    ch = self.next()
            result.append(ch)

    def name(self) -> str:
        ch = self.peek()
        if ch and unicodedata.category(ch) == "Nd":
            start = self.pos
            while self.peek() and unicodedata.category(self.peek()) == "Nd":
                self.next()
            return self.word[start:self.pos]
        if ch in _SPECIAL and ch:
            return self.next()
        start = self.pos
        while self.peek() and (self.peek().isalpha() or unicodedata.category(self.peek()) == "Nd"
                               or self.peek() == "_"):
            self.next()
        return self.word[start:self.pos]

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return self.env.get(name, "") if name else "$"
        self.next()
        if not self.peek():
            raise ExpansionError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        if ch == "?":
            raise ExpansionError(f"`${{{name}?...}}` is not resolved the same way by both builders; give the "
                                 "ARG a value and use `${NAME:-default}`")
        if ch != ":":
            raise ExpansionError("missing ':' in substitution")
        modifier = self.next()
        word = self.until("}")
        value = self.env.get(name, "")
        if modifier == "+":
            return word if value else value
        if modifier == "-":
            return value or word
        raise ExpansionError(f"unsupported modifier ({modifier}) in substitution" if modifier != "?" else
                             f"`${{{name}:?...}}` is refused: give the ARG a value")


def expand_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """`word` expanded as BuildKit's ProcessWordWithMap does; ExpansionError where the builder fails."""
    return _Lexer(word, env, escape).until("")


class MetaArgs:
    """The ARGs declared before the first FROM, as both back ends see them when they expand a FROM."""

    def __init__(self, escape: str = "\\") -> None:
        self.escape = escape
        self.classic: dict[str, str] = {}
        self.buildkit: dict[str, str] = platform_args()

    def declare(self, words: tuple[str, ...]) -> None:
        """`ARG NAME[=value] ...`: each value is expanded with the arguments declared before it."""
        for word in words:
            key, equals, raw = word.partition("=")
            if key in RESERVED_ARGS:
                raise ExpansionError(f"`ARG {key}` is reserved: the grader passes that build argument itself")
            if not key:
                raise ExpansionError("ARG needs a name before `=`")
            self.classic[key] = expand_word(raw, self.classic, self.escape) if equals else ""
            self.buildkit[key] = expand_word(raw, self.buildkit, self.escape) if equals else ""

    def expand(self, word: str) -> str:
        """A FROM word expanded; refused if the classic builder and BuildKit would read different names."""
        classic, buildkit = (expand_word(word, env, self.escape) for env in (self.classic, self.buildkit))
        if classic != buildkit:
            raise ExpansionError(f"`{word[:60]}` names `{classic[:60]}` on the classic builder and "
                                 f"`{buildkit[:60]}` on BuildKit (which predefines the platform arguments); "
                                 "write the image name")
        return classic
