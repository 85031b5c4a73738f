"""Audit mode: the ledger drift audit — summary, drifted accounts, drill-down, export.

The audit runs in a worker (one SQL pass in the service); the drill-down reads one account's
entries. Nothing here changes data: an audit only reports.
"""

from __future__ import annotations

import uuid
from typing import TextIO

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from pitterm.domain import drift
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.drift import AuditReport, DriftedAccount, DrillDown
from pitterm.domain.drift_rules import DriftClass
from pitterm.screens.base import ModeScreen
from pitterm.screens.csv_export import Exported, ask_to_export
from pitterm.widgets.columns import Col, FittingTable, fixed_columns
from pitterm.widgets.literal import literal

DEFAULT_TOLERANCE = 10
CLASS_FILTERS: tuple[DriftClass | None, ...] = (None, DriftClass.MINOR, DriftClass.MATERIAL)


class AuditScreen(ModeScreen):
    """Cached balances against the ledger, classified by tolerance, with likely causes."""

    HELP = """
    The ledger drift audit. Every player's cached points balance is rebuilt from the ledger
    and compared: in balance, minor drift (up to ten times the tolerance) or material. Run a
    full audit, or a quicker re-audit of the entries added since the last one; set the
    tolerance, filter by class, find an account by name. Highlight an account to see its
    entries with a running balance and the likely cause (missing correction, double-posted
    entry, stale balance). Export the result to CSV. An audit only reports: it changes
    nothing.
    """

    MODE_NAME = "audit"
    MODE_TITLE = "Audit"

    BINDINGS = [
        Binding(
            "a",
            "run_audit",
            "Full audit",
            id="audit.run",
            tooltip="Rebuild every balance from the whole ledger, compare with the cache, and"
            " record checkpoints for later re-audits.",
        ),
        Binding(
            "i",
            "run_incremental",
            "Re-audit",
            id="audit.incremental",
            tooltip="Re-audit from the checkpoints: read only the entries added since.",
        ),
        Binding(
            "t",
            "focus_tolerance",
            "Tolerance",
            id="audit.tolerance",
            tooltip="Points of drift counted as in balance (minor drift up to 10×).",
        ),
        Binding(
            "c",
            "cycle_class",
            "Class filter",
            id="audit.class_filter",
            tooltip="Show all drifted accounts, only minor drift, or only material.",
        ),
        Binding(
            "slash",
            "focus_search",
            "Find account",
            id="audit.find",
            tooltip="Filter the accounts by player name.",
        ),
        Binding(
            "e",
            "export",
            "Export CSV",
            id="audit.export",
            tooltip="Write the audit (summary and drifted accounts) to a CSV file you name.",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: AuditReport | None = None
        self._class_filter: DriftClass | None = None
        self._accounts: dict[str, DriftedAccount] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="audit-controls"):
            yield Label("Tolerance (points)")
            yield Input(str(DEFAULT_TOLERANCE), id="audit-tolerance", type="integer", max_length=7)
            yield Label("Find")
            yield Input(placeholder="player name", id="audit-search")
            yield Static("", id="audit-badge")
        yield ProgressBar(total=None, id="audit-progress", show_eta=False)
        yield Static(  # it names the players with the largest drift
            "Press a for a full audit, i to re-audit from the checkpoints.",
            id="audit-summary",
            markup=False,
        )
        with Horizontal(id="audit-body"):
            accounts: FittingTable[str] = FittingTable(
                id="audit-accounts", cursor_type="row", zebra_stripes=True
            )
            _account_columns(accounts)
            yield accounts
            with Vertical(id="audit-detail"):
                yield Static(
                    "Select an account and press Enter for its timeline.",
                    id="audit-explanation",
                    markup=False,
                )
                timeline: FittingTable[str] = FittingTable(id="audit-timeline", cursor_type="row")
                fixed_columns(
                    timeline,
                    Col("", "mark", 1),
                    Col("When", "when", 16),
                    Col("Reason", "reason", 13, min_width=6),
                    Col("Points", "delta", 8),
                    Col("Running", "running", 8),
                )
                yield timeline

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#audit-progress", ProgressBar).display = False
        self.query_one("#audit-accounts", DataTable).focus()

    # -- running the audit --------------------------------------------------------------

    def action_run_audit(self) -> None:
        self._start(incremental=False)

    def action_run_incremental(self) -> None:
        self._start(incremental=True)

    def _start(self, *, incremental: bool) -> None:
        tolerance = self._tolerance()
        if tolerance is None:
            return
        self.query_one("#audit-progress", ProgressBar).display = True
        kind = "Re-auditing from the checkpoints" if incremental else "Auditing the whole ledger"
        self.query_one("#audit-summary", Static).update(f"{kind} at tolerance {tolerance}…")
        self.run_audit(self.session.database, self.session.signed_in(), tolerance, incremental)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="audit-run",
        description="Run the ledger drift audit",
    )
    def run_audit(
        self, database: Database, actor: Actor, tolerance: int, incremental: bool
    ) -> None:
        try:
            if incremental:
                report = drift.audit_incremental(database.uow(actor), actor, tolerance)
            else:
                report = drift.audit(database.uow(actor), actor, tolerance, checkpoint=True)
        finally:
            self.app.call_from_thread(self._hide_progress)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_report, report)

    def _hide_progress(self) -> None:
        self.query_one("#audit-progress", ProgressBar).display = False

    def _show_report(self, report: AuditReport) -> None:
        self.report = report
        s = report.summary
        worst = s.worst
        badge = self.query_one("#audit-badge", Static)
        badge.update(
            {
                DriftClass.IN_BALANCE: " OK ",
                DriftClass.MINOR: " MINOR DRIFT ",
                DriftClass.MATERIAL: " MATERIAL MISMATCH ",
            }[worst]
        )
        badge.set_classes(f"badge-{worst.value}")
        extremes = []
        if s.largest_positive is not None:
            extremes.append(
                f"largest positive {s.largest_positive:+,} ({s.largest_positive_account})"
            )
        if s.largest_negative is not None:
            extremes.append(
                f"largest negative {s.largest_negative:+,} ({s.largest_negative_account})"
            )
        self.query_one("#audit-summary", Static).update(
            f"{report.kind.value} audit read {report.scanned_entries:,} entries │"
            f" {s.accounts_checked:,} accounts checked │ {s.in_balance:,} in balance │"
            f" {s.minor:,} minor drift │ {s.material:,} material │ tolerance {s.tolerance}"
            + (" │ " + " │ ".join(extremes) if extremes else "")
        )
        self._fill_accounts()

    def _fill_accounts(self) -> None:
        grid = self.query_one("#audit-accounts", DataTable)
        grid.clear()
        self._accounts = {}
        if self.report is None:
            return
        needle = self.query_one("#audit-search", Input).value.strip().lower()
        for account in self.report.accounts:
            if self._class_filter is not None and account.drift_class is not self._class_filter:
                continue
            if needle and needle not in account.player_name.lower():
                continue
            key = str(account.player_id)
            self._accounts[key] = account
            grid.add_row(
                literal(account.player_name),
                f"{account.cached:,}",
                f"{account.computed:,}",
                f"{account.drift:+,}",
                account.drift_class.value.replace("_", " "),
                key=key,
            )

    # -- filters ------------------------------------------------------------------------

    def action_cycle_class(self) -> None:
        index = CLASS_FILTERS.index(self._class_filter)
        self._class_filter = CLASS_FILTERS[(index + 1) % len(CLASS_FILTERS)]
        shown = self._class_filter.value if self._class_filter else "all drifted"
        self.notify(f"Showing {shown} accounts.")
        self._fill_accounts()

    def action_focus_search(self) -> None:
        self.query_one("#audit-search", Input).focus()

    def action_focus_tolerance(self) -> None:
        tolerance = self.query_one("#audit-tolerance", Input)
        tolerance.focus()
        tolerance.select_all()  # typing replaces the old value

    @on(Input.Changed, "#audit-search")
    def _search_changed(self) -> None:
        self._fill_accounts()

    @on(Input.Submitted, "#audit-search")
    @on(Input.Submitted, "#audit-tolerance")
    def _back_to_table(self, event: Input.Submitted) -> None:
        self.query_one("#audit-accounts", DataTable).focus()
        if event.input.id == "audit-tolerance":
            self.action_run_audit()

    def _tolerance(self) -> int | None:
        text = self.query_one("#audit-tolerance", Input).value.strip()
        try:
            value = int(text)
        except ValueError:
            value = -1
        if not 0 <= value <= drift.MAX_TOLERANCE:
            self.notify(
                f"Tolerance must be a whole number of points from 0 to {drift.MAX_TOLERANCE:,}.",
                severity="error",
            )
            return None
        return value

    # -- drill-down ---------------------------------------------------------------------

    @on(DataTable.RowSelected, "#audit-accounts")
    def _account_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None or self.report is None:
            return
        self.load_detail(
            self.session.database,
            self.session.signed_in(),
            uuid.UUID(key),
            self.report.summary.tolerance,
        )

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="audit-detail",
        description="Read an account's ledger timeline",
    )
    def load_detail(
        self, database: Database, actor: Actor, player_id: uuid.UUID, tolerance: int
    ) -> None:
        detail = drift.drill_down(database.reader(actor), actor, player_id, tolerance)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_detail, detail)

    def _show_detail(self, detail: DrillDown) -> None:
        self.query_one("#audit-explanation", Static).update(
            f"{detail.player_name}: cached {detail.cached:,}, ledger {detail.computed:,},"
            f" drift {detail.drift:+,} ({detail.drift_class.value.replace('_', ' ')}).\n"
            f"{detail.explanation}"
        )
        grid = self.query_one("#audit-timeline", DataTable)
        grid.clear()
        for entry in detail.timeline:
            # ▶ marks the entry the explanation names, or the last one the cache agreed with.
            marked = entry.entry_id in (detail.named_entry, detail.diverged_after)
            grid.add_row(
                "▶" if marked else "",
                f"{entry.created_at:%Y-%m-%d %H:%M}",
                entry.reason.value,
                f"{entry.points_delta:+,}",
                f"{entry.running_balance:,}",
                key=str(entry.entry_id),
            )

    # -- export -------------------------------------------------------------------------

    def action_export(self) -> None:
        report = self.report
        if report is None:
            self.notify("Run the audit first (a).", severity="warning")
            return
        content = drift.report_csv(report)

        def write(out: TextIO) -> int:
            out.write(content)
            return len(report.accounts)

        def exported(result: Exported) -> None:
            self.notify(
                f"Audit of {report.summary.accounts_checked:,} accounts"
                f" ({result.rows:,} drifted) written to {result.path}",
                title="Audit exported",
                markup=False,
            )

        ask_to_export(
            self,
            "Export the drift audit to CSV",
            "The summary of this audit, then every drifted account (all classes, whatever the"
            " filters show).",
            "pitterm-drift-audit",
            write,
            exported,
        )


def _account_columns(grid: DataTable[str]) -> None:
    # Fixed widths (pitterm.widgets.columns): points to ±999,999, within half a 120-column screen.
    fixed_columns(
        grid,
        Col("Player", "player", 16, min_width=10),
        Col("Cached", "cached", 8),
        Col("Ledger", "computed", 8),
        Col("Drift", "drift", 8),
        Col("Class", "class", 8),
    )
