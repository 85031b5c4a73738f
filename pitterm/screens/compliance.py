"""Today's compliance watch, opened from the floor: CTR warnings and flags, and the MTL lines.

Patrons are players or, for ghost play, the ghost visit itself (DESIGN §4): compliance
does not depend on loyalty enrolment, so ghosts are listed like anyone.
"""

from __future__ import annotations

from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from pitterm.domain import cash
from pitterm.domain.actor import Actor
from pitterm.domain.cash import ComplianceDay
from pitterm.domain.ctr import CtrStatus
from pitterm.domain.database import Database
from pitterm.domain.enums import CashDirection
from pitterm.screens.base import ModeScreen
from pitterm.screens.cash_modal import ctr_cell
from pitterm.widgets.columns import Col, FittingTable, fixed_columns
from pitterm.widgets.formatting import dollars
from pitterm.widgets.literal import literal

__all__ = ["ComplianceScreen"]


class ComplianceScreen(ModeScreen):
    """A drill-down of Floor mode: the gaming day's CTR watch list and MTL lines."""

    HELP = """
    Today's compliance watch for the gaming day: each patron's cash in and cash out against
    the CTR threshold (a warning as it nears, a flag over it), ghost patrons included, and the
    MTL lines recorded. Read only: cash is recorded on the floor, on the patron's visit.
    """

    MODE_NAME = "floor"
    MODE_TITLE = "Floor · Compliance"

    BINDINGS = [
        Binding(
            "escape",
            "back",
            "Back to floor",
            id="compliance.back",
            tooltip="Return to the floor.",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="compliance.refresh",
            tooltip="Read today's cash totals again.",
        ),
    ]

    summary = getters.query_one("#compliance-summary", Static)
    ctr_table = getters.query_one("#compliance-ctr", DataTable)
    mtl = getters.query_one("#compliance-mtl", DataTable)

    def compose_body(self) -> ComposeResult:
        yield Static("Reading today's cash…", id="compliance-summary")
        watch: FittingTable[object] = FittingTable(
            id="compliance-ctr", cursor_type="row", zebra_stripes=True
        )
        watch.border_title = "CTR watch: patrons near or over the threshold"
        fixed_columns(
            watch,
            Col("Patron", "patron", 40, min_width=16),
            Col("Cash in", "in", 12),
            Col("In status", "in_status", 9),
            Col("Cash out", "out", 12),
            Col("Out status", "out_status", 10),
        )
        yield watch
        mtl: FittingTable[object] = FittingTable(
            id="compliance-mtl", cursor_type="row", zebra_stripes=True
        )
        mtl.border_title = "Multiple transaction log"
        fixed_columns(
            mtl,
            Col("Recorded (UTC)", "at", 14),
            Col("Patron", "patron", 40, min_width=16),
            Col("Direction", "direction", 9),
            Col("Amount", "amount", 12),
        )
        yield mtl

    def on_mount(self) -> None:
        self.reload()
        self.ctr_table.focus()

    def action_back(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        self.reload()

    def reload(self) -> None:
        actor = self.session.actor
        if actor is not None:
            self.load_day(self.session.database, actor)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="compliance-day",
        description="Read today's compliance watch",
    )
    def load_day(self, database: Database, actor: Actor) -> None:
        day = cash.compliance_day(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, day)

    def _show(self, day: ComplianceDay) -> None:
        due = sum(p.worst is CtrStatus.DUE for p in day.patrons)
        near = len(day.patrons) - due
        fraction = f"{float(day.near_fraction):.0%}"
        self.summary.update(
            f"Gaming day {day.gaming_day:%a %d %b %Y} │ CTR over {dollars(day.threshold_cents)}"
            f" (warning above {fraction}) │ MTL from {dollars(day.mtl_floor_cents)} │"
            f" {due} CTR due, {near} near, {len(day.mtl)} MTL lines"
        )
        self.ctr_table.clear()
        for patron in day.patrons:
            self.ctr_table.add_row(
                literal(patron.patron),
                dollars(patron.cash_in_cents),
                ctr_cell(self.app, patron.cash_in_status),
                dollars(patron.cash_out_cents),
                ctr_cell(self.app, patron.cash_out_status),
            )
        # Said under the list, not as a row: a row's cells are cut to the columns' widths.
        self.ctr_table.border_subtitle = (
            "" if day.patrons else "No patron is near the CTR threshold today."
        )
        self.mtl.clear()
        for line in day.mtl:
            self.mtl.add_row(
                f"{line.recorded_at:%H:%M:%S}",
                literal(line.patron),
                "cash in" if line.direction is CashDirection.CASH_IN else "cash out",
                dollars(line.amount_cents),
                key=str(line.transaction_id),
            )
        self.mtl.border_subtitle = (
            "" if day.mtl else "No transaction at or above the MTL floor today."
        )
