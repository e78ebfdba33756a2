"""Text from data (layer, model and file names, error messages) made safe to show.

Names are shown literally: a layer called ``[bold]x`` is not markup, and control characters are
made visible (:func:`tlexplorer.textsafe.safe`).
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.markup import escape

from tlexplorer.textsafe import safe


def esc(value: object) -> str:
    """``value`` for a string that is read as markup (border titles, ``Static`` updates)."""
    return escape(safe(value))


def cell(value: object) -> Text:
    """``value`` as a table cell that is never read as markup."""
    return Text(safe(value))


def literal(value: object) -> Content:
    """``value`` as widget content that is never read as markup."""
    return Content(safe(value))


def ellipsize(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with "…" where it was cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"
