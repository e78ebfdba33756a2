"""The poster's claims, checked on the workspace's models (Spearman ρ of accuracy vs a metric)."""

from __future__ import annotations

from textual.widgets import DataTable

from tlexplorer.claims import ClaimCheck
from tlexplorer.tui.figures import fmt
from tlexplorer.tui.widgets.text import cell

VERDICT = {"yes": "holds", "no": "does not hold", "unclear": "unclear"}


class ClaimsTable(DataTable):
    """One row per claim: metric, ρ, n and the plain verdict."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("claim", "ρ", "n", "verdict", "metric")
        self.border_subtitle = "holds: |ρ| ≥ 0.5 with the claimed sign; few models prove little"

    def show(self, checks: list[ClaimCheck]) -> None:
        self.clear()
        for check in checks:
            self.add_row(cell(check.claim), fmt(check.spearman_rho, "+.2f"), str(check.n),
                         VERDICT.get(check.holds, check.holds), cell(check.metric),
                         key=check.metric)
