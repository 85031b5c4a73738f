"""Ledger history (seed 003 flow 4): filters, keyset pages, an entry's details, CSV export.

Pages come from the database 50 rows at a time, newest first, by keyset cursor: the screen
keeps the stack of cursors it came through, so "previous" re-reads the page before and
nothing ever loads a whole ledger. Export streams the filtered range (all pages) to a file
in a worker, formula-safe.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static
from textual.worker import get_current_worker

from pitterm.domain import directory, loyalty
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import Database
from pitterm.domain.directory import LedgerContext
from pitterm.domain.enums import LedgerReason
from pitterm.domain.loyalty import Corrected, LedgerFilter, LedgerPage, LedgerRow
from pitterm.domain.players import PlayerSummary
from pitterm.screens.base import ModeScreen
from pitterm.screens.corrections import ReverseModal
from pitterm.screens.csv_export import Exported, ask_to_export
from pitterm.screens.paging import KeysetPages
from pitterm.screens.player_picker import PlayerPicker
from pitterm.widgets.columns import Col, FittingTable, fixed_columns
from pitterm.widgets.ledger_text import describe_entry, local_time, reason_label
from pitterm.widgets.literal import literal
from pitterm.widgets.points import delta

PAGE_SIZE = 50


@dataclass(frozen=True)
class PlayerRef:
    """The player a ledger view is filtered to."""

    id: uuid.UUID
    name: str


def ledger_cells(
    row: LedgerRow, time_zone: str | None, *, with_player: bool
) -> tuple[str | Text, ...]:
    cells: list[str | Text] = [local_time(row.created_at, time_zone)]
    if with_player:
        cells.append(literal(row.player_name))
    cells += [
        reason_label(row.reason),
        delta(row.points_delta),
        row.staff_code or "—",
        literal(row.note or ""),
    ]
    return tuple(cells)


def ledger_columns(table: DataTable[str], *, with_player: bool) -> None:
    """The ledger's columns, at fixed widths (pitterm.widgets.columns says why)."""
    fixed_columns(
        table,
        Col("When", "when", 16),
        *([Col("Player", "player", 22, min_width=14)] if with_player else []),
        Col("Reason", "reason", 14),
        Col("Points", "points", 10),
        Col("Staff", "staff", 6),
        Col("Note", "note", 48, min_width=12),
    )


def parse_day(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a date (YYYY-MM-DD)") from None


class LedgerScreen(ModeScreen):
    """Ledger rows (when, player, reason, points, staff, note) beside the selected row's details."""

    HELP = """
    Ledger history: every points entry (slip accruals, comps, credits, promotions,
    adjustments, reversals), newest first, fifty to a page. Filter by player, reason, staff
    member and dates, and export everything that matches to CSV. An admin can reverse the
    highlighted entry.
    """

    MODE_NAME = "player"
    MODE_TITLE = "Player · Ledger"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "n",
            "next_page",
            "Next page",
            id="ledger.next_page",
            tooltip="The next 50 (older) entries.",
        ),
        Binding(
            "b",
            "previous_page",
            "Previous page",
            id="ledger.previous_page",
            tooltip="Back to the 50 newer entries.",
        ),
        Binding(
            "p",
            "pick_player",
            "Player",
            id="ledger.filter_player",
            tooltip="Show one player's entries only (find them by card, birth date or name).",
        ),
        Binding(
            "x",
            "clear_filters",
            "Clear filters",
            id="ledger.clear_filters",
            tooltip="Every player, reason, staff member and date.",
        ),
        Binding(
            "e",
            "export",
            "Export CSV",
            id="ledger.export",
            tooltip="Write every entry matching the filters to a CSV file.",
        ),
        Binding(
            "v",
            "reverse",
            "Reverse entry",
            id="ledger.reverse",
            tooltip="Reverse the selected entry exactly, with a note (admin).",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="ledger.back",
            tooltip="Back to the player card.",
        ),
    ]

    grid = getters.query_one("#ledger-rows", DataTable)
    detail = getters.query_one("#ledger-detail", Static)
    title_line = getters.query_one("#ledger-title", Static)

    def __init__(self, player: PlayerRef | None = None) -> None:
        super().__init__()
        self.player = player
        """The player filter, or None for every player."""
        self.context: LedgerContext | None = None
        self.pages = KeysetPages(
            LedgerFilter(player_id=player.id if player else None), PAGE_SIZE, "entries"
        )
        self.rows: dict[str, LedgerRow] = {}
        self.export_note = ""

    def compose_body(self) -> ComposeResult:
        yield Static("Ledger history", id="ledger-title", markup=False)
        with Horizontal(id="ledger-filters"):
            yield Label("Reason", classes="filter-label")
            yield Select(
                [(reason_label(reason), reason.value) for reason in LedgerReason],
                prompt="All reasons",
                id="ledger-reason",
            )
            yield Label("Staff", classes="filter-label")
            yield Select([], prompt="All staff", id="ledger-staff")
            yield Label("From", classes="filter-label")
            yield Input(placeholder="YYYY-MM-DD", max_length=10, id="ledger-since")
            yield Label("To", classes="filter-label")
            yield Input(placeholder="YYYY-MM-DD", max_length=10, id="ledger-until")
        with Horizontal(id="ledger-body"):
            table: FittingTable[str] = FittingTable(
                id="ledger-rows", cursor_type="row", zebra_stripes=True
            )
            yield table
            with VerticalScroll(id="ledger-detail-pane"):
                yield Static("", id="ledger-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self._columns()
        self.grid.focus()
        self.load_context(self.session.database, self.session.signed_in())

    def _columns(self) -> None:
        self.grid.clear(columns=True)
        ledger_columns(self.grid, with_player=self.player is None)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="ledger-context",
        description="Read the casino's staff and time zone",
    )
    def load_context(self, database: Database, actor: Actor) -> None:
        context = directory.ledger_context(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._context_loaded, context)

    def _context_loaded(self, context: LedgerContext) -> None:
        self.context = context
        self.query_one("#ledger-staff", Select).set_options(
            (literal(f"{staff.code} {staff.name}"), str(staff.id)) for staff in context.staff
        )
        self.reload()

    # -- filters -------------------------------------------------------------------------

    def _filter(self) -> LedgerFilter:
        """The filter the widgets describe; ValueError (for the title line) if a date is bad."""
        reason = self.query_one("#ledger-reason", Select).value
        staff = self.query_one("#ledger-staff", Select).value
        since = parse_day(self.query_one("#ledger-since", Input).value, "From")
        until = parse_day(self.query_one("#ledger-until", Input).value, "To")
        if since and until and until < since:
            raise ValueError("To: the range ends before it starts")
        zone = ZoneInfo(self.context.time_zone if self.context else "UTC")
        return LedgerFilter(
            player_id=self.player.id if self.player else None,
            reason=LedgerReason(reason) if isinstance(reason, str) else None,
            staff_id=uuid.UUID(staff) if isinstance(staff, str) else None,
            since=datetime.combine(since, time(0), zone) if since else None,
            until=datetime.combine(until + timedelta(days=1), time(0), zone) if until else None,
        )

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#ledger-since, #ledger-until")
    def _date_entered(self) -> None:
        self.reload()
        self.grid.focus()

    def action_pick_player(self) -> None:
        def picked(player: PlayerSummary | None) -> None:
            if player is not None:
                self.player = PlayerRef(player.id, player.name)
                self._columns()
                self.reload()

        self.app.push_screen(PlayerPicker("Ledger of which player?"), picked)

    def action_clear_filters(self) -> None:
        with self.prevent(Select.Changed):
            self.query_one("#ledger-reason", Select).clear()
            self.query_one("#ledger-staff", Select).clear()
        self.query_one("#ledger-since", Input).value = ""
        self.query_one("#ledger-until", Input).value = ""
        if self.player is not None:
            self.player = None
            self._columns()
        self.reload()

    # -- pages ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Back to the first page for the filters as they stand."""
        if self.context is None:
            return
        try:
            where = self._filter()
        except ValueError as error:
            self.title_line.update(f"Ledger history │ {error}")
            self.title_line.add_class("-error")
            return
        self.title_line.remove_class("-error")
        self.export_note = ""  # it described the previous filters
        self.pages.restart(where)
        self._load()

    def _load(self) -> None:
        pages = self.pages
        actor = self.session.signed_in()
        self.load_page(self.session.database, actor, pages.where, pages.cursor, pages.page)

    def action_next_page(self) -> None:
        if self.pages.forward():
            self._load()

    def action_previous_page(self) -> None:
        if self.pages.back():
            self._load()

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="ledger-page",
        description="Read a page of the ledger",
    )
    def load_page(
        self, database: Database, actor: Actor, where: LedgerFilter, cursor: str | None, page: int
    ) -> None:
        found = loyalty.history(database.reader(actor), actor, where, cursor, PAGE_SIZE)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_page, where, page, found)

    def _show_page(self, where: LedgerFilter, page: int, found: LedgerPage) -> None:
        if not self.pages.accept(where, page, found.next_cursor):
            return  # the filters or the page changed while this page was read
        time_zone = self.context.time_zone if self.context else None
        self.rows = {str(row.id): row for row in found.rows}
        self._columns()  # fresh columns: clear() alone keeps widths sized for older rows
        for row in found.rows:
            self.grid.add_row(
                *ledger_cells(row, time_zone, with_player=self.player is None), key=str(row.id)
            )
        self._show_title(len(found.rows))
        self._show_detail()
        self.refresh_bindings()

    def _show_title(self, count: int) -> None:
        parts = ["Ledger history", self.player.name if self.player else "all players"]
        parts += self.pages.position(count)
        if self.export_note:
            parts.append(self.export_note)
        self.title_line.update(" │ ".join(parts))

    def selected(self) -> LedgerRow | None:
        if self.grid.row_count == 0:
            return None
        key = self.grid.coordinate_to_cell_key(self.grid.cursor_coordinate).row_key.value
        return self.rows.get(key or "")

    @on(DataTable.RowHighlighted, "#ledger-rows")
    def _highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        row = self.selected()
        if row is None:
            self.detail.update("No entry selected.")
            return
        staff = {s.id: f"{s.code} {s.name}" for s in (self.context.staff if self.context else [])}
        time_zone = self.context.time_zone if self.context else None
        self.detail.update(describe_entry(row, time_zone=time_zone, staff=staff))

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.session.actor
        if action == "reverse":
            if actor is None or not can(actor.role, Capability.ADJUST_REVERSE):
                return False
            row = self.selected()
            return True if row is not None and row.reason is not LedgerReason.REVERSAL else None
        if action in ("next_page", "previous_page"):
            return self.pages.allows(action)
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_reverse(self) -> None:
        row = self.selected()
        if row is None or row.reason is LedgerReason.REVERSAL:
            return
        when = local_time(row.created_at, self.context.time_zone if self.context else None)

        def reversed_(outcome: Corrected | None) -> None:
            if outcome is not None:
                self._load()

        self.app.push_screen(ReverseModal(row, when), reversed_)

    def action_export(self) -> None:
        def exported(result: Exported) -> None:
            self.export_note = f"exported {result.rows:,} rows to {result.path}"
            self.notify(
                f"{result.rows:,} ledger rows written to {result.path}",
                title="CSV exported",
                markup=False,
            )
            self._show_title(self.grid.row_count)

        database, actor, where = self.session.database, self.session.signed_in(), self.pages.where
        ask_to_export(
            self,
            "Export the ledger to CSV",
            "Every entry matching the current filters, newest first.",
            "pitterm-ledger",
            lambda out: loyalty.export_history_csv(database.reader(actor), actor, where, out),
            exported,
        )
