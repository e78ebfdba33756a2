"""Names that come from data (folders, files, classes, layers) made safe to print.

A folder called ``\\x1b]2;owned\\x07`` must not retitle the user's terminal: control characters
(C0, DEL, C1) and lone surrogates from undecodable file names are shown as visible escapes.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def safe(text: object) -> str:
    """``text`` with every control character written as ``\\xNN`` (or ``\\uNNNN``)."""
    value = str(text)

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, value)


def safe_lines(text: object) -> str:
    """Like :func:`safe`, line by line: a multi-line text (a traceback for a log) keeps its
    line breaks while every other control character is made visible."""
    return "\n".join(safe(line) for line in str(text).split("\n"))
