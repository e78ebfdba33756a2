"""The explorer's key map, defined once: it makes the key bindings, the footer, the `?` help
screen and the command palette's entries.

Each :class:`Key` row is one action with its keys, a short label (footer and palette name) and a
one-line description (help screen, palette help; the palette searches it too). A row whose
action holds ``{key}`` stands for one binding per key (``1``–``5``: model N).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import NamedTuple

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class Key(NamedTuple):
    keys: str  # Textual key names, comma separated: "down,j"
    action: str  # an action of the main screen ("app.…" for the app's)
    label: str  # short name: the footer and the command palette
    description: str  # one line: the help screen and the palette (which searches it too)
    display: str = ""  # the keys as written for people; default: made from ``keys``
    footer: str = ""  # "KEYS LABEL" as the footer shows it; "" keeps the row out of the footer
    textual: bool = False  # Textual's own key (Tab, ctrl+p): listed in help, bound by Textual


KEYS: tuple[Key, ...] = (
    Key("down,j", "next_layer", "next layer", "select the next layer", "↓ j", "↑↓ layer"),
    Key("up,k", "previous_layer", "previous layer", "select the previous layer", "↑ k"),
    Key("right", "next_model", "next model", "select the next model", "→", "←→ model"),
    Key("left", "previous_model", "previous model", "select the previous model", "←"),
    Key("right", "scroll_table(1)", "scroll right",
        "overview: scroll the table right (its scrollbar scrolls too)", "→"),
    Key("left", "scroll_table(-1)", "scroll left", "overview: scroll the table left", "←"),
    Key("1,2,3,4,5,6,7,8,9", "select_model({key})", "model {key}", "select model {key}", "1–9"),
    Key("l", "toggle_bins", "log/linear bins", "spectrum bins: log ↔ linear"),
    Key("m", "toggle_scope", "layer/model spectrum",
        "spectrum of the selected layer ↔ of the whole model (all layers)"),
    Key("y", "toggle_counts", "log/linear counts", "spectrum counts (y axis): linear ↔ log"),
    Key("s", "sort_next", "sort by next column",
        "models or layers table (the focused one, Tab): sort by the next column; after the "
        "last, back to unsorted (layers by depth); a click on a header sorts by it"),
    Key("S", "sort_reverse", "reverse sort",
        "models or layers table: reverse the sort (▲ ascending, ▼ descending)"),
    Key("t", "cycle_tau", "cycle τ",
        "cycle τ (tau) of the dormant test: 0.025, 0.1, 0.25, 0.5"),
    Key("c", "toggle_compare", "compare",
        "compare view: the five models side by side (NNU, spectra, range)", footer="c compare"),
    Key("x", "toggle_crosstab", "compare table",
        "compare table: one metric per layer (rows) and model (columns), aligned by layer name"),
    Key("m", "cycle_metric", "next metric",
        "compare table: next metric: NNU % → dormant % → max activation"),
    Key("d", "toggle_details", "model details",
        "the selected model's confusion matrix, per-class accuracy and training curves"),
    Key("o", "toggle_overview", "overview",
        "overview table: accuracy, loss, F1, AUC, NNU, dormant %, skewness, range CV",
        footer="o table"),
    Key("w", "toggle_shift", "weight shift",
        "weight shift per layer against the pretrained base (your own models: against the "
        "first; frozen: 0 ✓); in the view, w again measures against the selected model"),
    Key("a", "toggle_claims", "claims",
        "the poster's claims, checked on these models (Spearman ρ)"),
    Key("i", "toggle_inputs", "top images",
        "top-activating test images of the selected layer's unit, with true class → prediction",
        footer="i images"),
    Key("f", "toggle_features", "feature maps",
        "feature maps of the chosen test image at the selected layer (one forward pass)",
        footer="f maps"),
    Key("left_square_bracket", "step(-1)", "previous unit/page",
        "top images: previous unit; feature maps: previous page of channels", "["),
    Key("right_square_bracket", "step(1)", "next unit/page",
        "top images: next unit; feature maps: next page of channels", "]"),
    Key("left_curly_bracket", "step(-10)", "unit −10", "top images: ten units back", "{"),
    Key("right_curly_bracket", "step(10)", "unit +10", "top images: ten units on", "}"),
    Key("less_than_sign", "dead_unit(-1)", "previous dead unit",
        "top images, feature maps: the previous dead unit of the layer", "<"),
    Key("greater_than_sign", "dead_unit(1)", "next dead unit",
        "top images, feature maps: the next dead unit of the layer", ">"),
    Key("s", "cycle_unit_order", "unit order",
        "top images: step through units by index, strongest first, or most selective first"),
    Key("n", "next_image(1)", "next image",
        "top images: pick the next image; feature maps: the next test image"),
    Key("p", "next_image(-1)", "previous image",
        "top images: pick the previous image; feature maps: the previous test image"),
    Key("g", "goto_image", "go to test image", "feature maps of test image number N (asks for N)"),
    Key("e", "export", "export CSV", "export CSV reports to WORKSPACE/reports/"),
    Key("r", "recapture", "recapture", "capture the selected model again"),
    Key("escape", "back", "back", "leave the view: back to the one it was opened from", "Esc",
        "esc back"),
    Key("escape", "cancel_work", "cancel work",
        "main view: cancel background training or capture (finished work is kept)", "Esc"),
    Key("question_mark", "help", "help", "this list of keys and panes", "?", "? help"),
    Key("q", "app.quit", "quit", "quit (finished work is kept)"),
    Key("tab", "app.focus_next", "next pane", "focus the next pane", "Tab", textual=True),
    Key("ctrl+p", "app.command_palette", "command palette",
        "every action by name; searches the descriptions too", "ctrl+p", textual=True),
)

_NAMES = {"down": "↓", "up": "↑", "left": "←", "right": "→", "escape": "Esc",
          "question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]",
          "left_curly_bracket": "{", "right_curly_bracket": "}",
          "less_than_sign": "<", "greater_than_sign": ">"}


def key_display(row: Key) -> str:
    """The row's keys as written for people: "↓ j", "1–5"."""
    return row.display or " ".join(_NAMES.get(k, k) for k in row.keys.split(","))


def expand(row: Key) -> list[tuple[str, str, str, str]]:
    """(keys, action, label, description) per binding a row stands for: one per key when its
    action has ``{key}``."""
    if "{key}" not in row.action:
        return [(row.keys, row.action, row.label, row.description)]
    return [(k, row.action.format(key=k), row.label.format(key=k),
             row.description.format(key=k)) for k in row.keys.split(",")]


def bindings() -> list[Binding]:
    """The main screen's bindings, made from :data:`KEYS`."""
    made = []
    for row in KEYS:
        if row.textual:
            continue
        keys_shown, _, footer_label = row.footer.partition(" ")
        for keys, action, label, _ in expand(row):
            made.append(Binding(keys, action, footer_label or label, show=bool(row.footer),
                                key_display=keys_shown or None, priority=True,
                                tooltip=row.description))
    return made


def help_rows() -> list[tuple[str, str]]:
    """(keys, what) per row of :data:`KEYS`, for the help screen."""
    return [(key_display(row),
             row.description.format(key="N") if "{key}" in row.action else row.description)
            for row in KEYS]


def _palette_entries() -> list[tuple[str, str, str]]:
    """(name, action, help) per palette entry: every screen action (the app's own are in
    Textual's part of the palette: Quit, Keys, Screenshot…)."""
    entries = []
    for row in KEYS:
        if row.action.startswith("app."):
            continue
        for keys, action, label, description in expand(row):
            shown = keys if "{key}" in row.action else key_display(row)
            entries.append((label, action, f"{description} ({shown})"))
    return entries


class ExplorerCommands(Provider):
    """The explorer's actions for the command palette, from :data:`KEYS`.

    A query matches an entry's name or its description ("spectrum", "tau"); name matches rank
    first. Entries the current view cannot run are left out.
    """

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    def _entries(self) -> list[tuple[str, str, str]]:
        from textual.actions import parse

        screen = self.screen
        usable = []
        for name, action, help_text in _palette_entries():
            action_name, _, params = parse(action)
            if screen.check_action(action_name, params) is not False:
                usable.append((name, action, help_text))
        return usable

    async def discover(self) -> Hits:
        for name, action, help_text in self._entries():
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action),
                          text=name, help=help_text)
                continue
            score = matcher.match(help_text)
            if score > 0:  # found by its description: below every name match
                yield Hit(score / 2, name, partial(self._run, action), text=name,
                          help=help_text)


def save_screenshot(app, filename: str | None = None, folder: str | Path | None = None
                    ) -> Path | None:
    """Save an SVG of the screen in ``folder`` (default WORKSPACE/reports/screens/, made if
    missing) and notify where; None if it could not be written (the notification says why).

    Textual's default writes to ~/Downloads, which root and SSH accounts often lack.
    """
    from textual.markup import escape

    from tlexplorer.textsafe import safe

    folder = Path(folder) if folder else Path(app.workspace) / "reports" / "screens"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = Path(app.save_screenshot(filename, str(folder)))
    except OSError as exc:
        app.notify(escape(safe(f"screenshot not saved: {exc}")), title="Screenshot",
                   severity="error")
        return None
    app.notify(escape(safe(f"saved to {path}")), title="Screenshot", timeout=8)
    return path
