"""Command palette entries: every explorer action is reachable by name as well as by key."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (palette name, action on the main screen, help)
COMMANDS: list[tuple[str, str, str]] = [
    ("Next model", "next_model", "select the next model (right)"),
    ("Previous model", "previous_model", "select the previous model (left)"),
    ("Next layer", "next_layer", "move the layer cursor down (down, j)"),
    ("Previous layer", "previous_layer", "move the layer cursor up (up, k)"),
    ("Toggle log/linear bins", "toggle_bins", "spectrum bins: log or linear (l)"),
    ("Toggle compare view", "toggle_compare", "the five models side by side (c)"),
    ("Toggle overview", "toggle_overview", "the extended Table 1 (o)"),
    ("Toggle weight shift", "toggle_shift", "per base layer, how far training moved it (w)"),
    ("Toggle claims", "toggle_claims", "the poster's claims checked on these models (a)"),
    ("Toggle top-activating images", "toggle_inputs",
     "the selected unit's top test images (i; [ ] unit, n/p pick)"),
    ("Cycle unit order", "cycle_unit_order",
     "top images: units by index, strongest first, or most selective first (s)"),
    ("Toggle feature maps", "toggle_features",
     "one test image's feature maps at the selected layer (f; [ ] page, n/p image)"),
    ("Go to test image", "goto_image", "feature maps of test image number N (g)"),
    ("Cycle τ", "cycle_tau", "τ of the dormant test: 0.025, 0.1, 0.25, 0.5 (t)"),
    ("Export CSV reports", "export", "write WORKSPACE/reports/*.csv (e)"),
    ("Recapture selected model", "recapture", "capture the selected model again (r)"),
    ("Cancel background work", "cancel_work", "stop training or capture (escape)"),
    ("Help", "help", "keys and panes (?)"),
]


class ExplorerCommands(Provider):
    """The explorer's actions for the command palette."""

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    async def discover(self) -> Hits:
        for name, action, help_text in COMMANDS:
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action),
                          help=help_text)
