"""Make text from a submission safe to show: no terminal escapes, no XML-illegal characters, no CSV formulas.

Build logs, container logs, file names found in an image and error messages all come from what a learner's
Dockerfile ran. Printed raw they could move the instructor's cursor, rewrite the terminal title or a hyperlink
(ESC [ ... m, OSC 8), break the JUnit file a CI system parses, or become a formula when grades.csv is opened
in a spreadsheet, or a link, an image or a table cell in a GitHub job summary. Every reporter passes such text
through these functions (one place, one rule).
"""

from __future__ import annotations

import html
import re

__all__ = ["csv_cell", "html_escape", "markdown_code_block", "markdown_escape", "strip_control"]

#: ANSI/VT escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other ESC-introduced pairs,
#: and their 8-bit C1 forms (0x9b CSI, 0x9d OSC).
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC ... BEL / ST
    r"|\x1b[P^_X][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, PM, APC, SOS ... ST
    r"|\x1b[@-Z\\-_ -/]?[0-~]?"  # two- or three-byte ESC sequences, or a lone ESC
)
#: What is left after the sequences: C0 controls but tab and newline, DEL, C1 controls, lone surrogates and the
#: two non-characters XML forbids.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The marks that mean something inside a line of GitHub Flavored Markdown: escapes, code, emphasis, links and
#: images, HTML tags and entities, strikethrough, math, and the table cell break. CommonMark shows each literally
#: after a backslash. (Marks that mean something only at the start of a line stay: the text is used inline.)
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>!|~&$])")


def strip_control(text: object) -> str:
    """`text` as a str without escape sequences or control characters (tab and newline kept; CR becomes LF)."""
    value = str(text).replace("\r\n", "\n").replace("\r", "\n")
    value = _ESCAPES.sub("", value)
    return _CONTROLS.sub("\ufffd", value)


def html_escape(text: object, quote: bool = True) -> str:
    """html.escape after strip_control: for every HTML reporter."""
    return html.escape(strip_control(text), quote=quote)


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text: strings starting with = + - @ (or tab/CR) get a leading
    apostrophe, as OWASP advises; numbers stay numbers."""
    if isinstance(value, (int, float)) or value is None:
        return value
    text = strip_control(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def markdown_escape(text: object) -> str:
    """Text for a Markdown table cell or the rest of a line, shown as it is: strip_control, lines joined by spaces,
    and every mark with an inline meaning backslash-escaped, so that no link, image, HTML tag, emphasis or cell
    break (`|`) can come out of it. Use it inline only (after `| `, `## ` or other text), never to start a line."""
    value = " ".join(strip_control(text).split("\n"))
    return _MARKDOWN_INLINE.sub(r"\\\1", value)


def markdown_code_block(lines: list[str], info: str = "text") -> str:
    """A fenced code block that no line can close early: its fence is longer than any run of backticks inside."""
    body = "\n".join(strip_control(line) for line in lines)
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"
