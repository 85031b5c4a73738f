"""Promo mode (seed 004): programs, the coupon inventory, and the shift's promo lens.

The programs list sits beside the shift dashboard's promo panel (exposure by type, coupons
issued per hour, the alerts) — promo exposure, labelled as such and never mixed with cash.
Below them, the coupon inventory pages from the database 50 at a time by keyset cursor,
filtered by program, status and issue date, and exports to CSV (formula-safe, all pages).

Keys follow the role (DESIGN §3): floor supervisors issue and look up coupons; pit bosses,
loyalty managers and admins also manage programs and void or replace coupons.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Select, Static
from textual.worker import get_current_worker

from pitterm.domain import cash, promo
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.cash import CashTotals
from pitterm.domain.database import Database
from pitterm.domain.promo import (
    CouponFilter,
    CouponPage,
    CouponView,
    HourlyIssuance,
    ProgramSaved,
    ProgramView,
    PromoLens,
)
from pitterm.domain.promo_rules import PROGRAM_TRANSITIONS, CouponStatus, ProgramAction
from pitterm.screens.base import ModeScreen
from pitterm.screens.csv_export import Exported, ask_to_export
from pitterm.screens.ledger import parse_day
from pitterm.screens.paging import KeysetPages
from pitterm.screens.promo_coupons import (
    CouponModal,
    IssueCouponForm,
    LookupForm,
    program_status_cell,
    status_cell,
)
from pitterm.screens.promo_programs import ProgramActionForm, ProgramForm, program_window
from pitterm.widgets.columns import Col, FittingTable, fixed_columns
from pitterm.widgets.formatting import dollars
from pitterm.widgets.literal import literal
from pitterm.widgets.promo_lens import PromoLensPanel

PAGE_SIZE = 50

NEEDS: dict[str, Capability] = {
    "issue": Capability.ISSUE_COUPON,
    "new_program": Capability.MANAGE_PROMO,
    "edit_program": Capability.MANAGE_PROMO,
    "program('activate')": Capability.MANAGE_PROMO,
    "program('pause')": Capability.MANAGE_PROMO,
    "program('end')": Capability.MANAGE_PROMO,
}
"""Actions and the capability each needs; without it the key is hidden."""


@dataclass(frozen=True)
class Overview:
    """One read of the top half: the programs, the promo lens and the hourly series."""

    programs: list[ProgramView]
    lens: PromoLens
    series: HourlyIssuance
    cash: CashTotals
    """The day's cash, shown beside the lens and never added to it."""


class PromoScreen(ModeScreen):
    """Programs and the promo lens above, the coupon inventory below."""

    HELP = """
    Promotional coupons. Above: the promo programs and their state, and the promo lens (the
    day's coupons issued, outstanding and redeemed, with alerts), shown beside the day's cash
    and never added to it. Below: the coupon inventory, filtered and paged, exportable to
    CSV. Issue a coupon from an active program, or look one up by its number to void or
    replace it. Managers create, edit, activate, pause and end programs.
    """

    MODE_NAME = "promo"
    MODE_TITLE = "Promo"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "i",
            "issue",
            "Issue coupon",
            id="promo.issue",
            tooltip="Issue a coupon from an active program; its number is shown large.",
        ),
        Binding(
            "l",
            "lookup",
            "Look up",
            id="promo.lookup",
            tooltip="Find a coupon by its validation number (void or replace it from there).",
        ),
        Binding(
            "c",
            "new_program",
            "New program",
            id="promo.new_program",
            tooltip="Create a promo program (a draft until it is activated).",
        ),
        Binding(
            "e",
            "edit_program",
            "Edit program",
            id="promo.edit_program",
            tooltip="Edit the selected program (what its state allows).",
        ),
        Binding(
            "a",
            "program('activate')",
            "Activate",
            id="promo.activate",
            tooltip="Activate the selected draft or paused program.",
        ),
        Binding(
            "p",
            "program('pause')",
            "Pause",
            id="promo.pause",
            tooltip="Pause the selected active program: issuing stops.",
        ),
        Binding(
            "z",
            "program('end')",
            "End program",
            id="promo.end",
            tooltip="End the selected program for good.",
        ),
        Binding(
            "n",
            "next_page",
            "Next page",
            id="promo.next_page",
            tooltip="The next 50 (older) coupons.",
        ),
        Binding(
            "b",
            "previous_page",
            "Previous page",
            id="promo.previous_page",
            tooltip="Back to the 50 newer coupons.",
        ),
        Binding(
            "u",
            "clear_filters",
            "Clear filters",
            id="promo.clear_filters",
            tooltip="Every program, status and date.",
        ),
        Binding(
            "x",
            "export",
            "Export CSV",
            id="promo.export",
            tooltip="Write every coupon matching the filters to a CSV file.",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="promo.refresh",
            tooltip="Read programs, the promo lens and the inventory again.",
        ),
    ]

    program_grid = getters.query_one("#promo-programs", DataTable)
    coupon_grid = getters.query_one("#promo-coupons", DataTable)
    lens_panel = getters.query_one(PromoLensPanel)
    inventory_title = getters.query_one("#promo-inventory-title", Static)

    def __init__(self) -> None:
        super().__init__()
        self.programs: dict[str, ProgramView] = {}
        self.time_zone: str | None = None
        """The casino's zone, known after the first read."""
        self.lens: PromoLens | None = None
        self.pages = KeysetPages(CouponFilter(), PAGE_SIZE, "coupons")
        """The inventory's filters and pages."""
        self.coupons: dict[str, CouponView] = {}
        self.export_note = ""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="promo-top"):
            programs: FittingTable[str] = FittingTable(
                id="promo-programs", cursor_type="row", zebra_stripes=True
            )
            programs.border_title = "Programs"
            fixed_columns(
                programs,
                # Within the 50 cells beside the lens on a 120-column terminal: program names
                # matter more than one long type label ("Nonnegotiable" shows "Nonnegotia").
                Col("Program", "name", 20, min_width=12),
                Col("Type", "type", 10, min_width=6),
                Col("Status", "status", 6),
                Col("Used", "uses", 6),
            )
            yield programs
            yield PromoLensPanel(id="promo-lens")
        yield Static("Coupon inventory", id="promo-inventory-title", markup=False)
        with Horizontal(id="promo-filters"):
            yield Label("Program", classes="filter-label")
            yield Select([], prompt="All programs", id="promo-filter-program")
            yield Label("Status", classes="filter-label")
            yield Select(
                [(status.value, status.value) for status in CouponStatus],
                prompt="All statuses",
                id="promo-filter-status",
            )
            yield Label("Issued from", classes="filter-label")
            yield Input(placeholder="YYYY-MM-DD", max_length=10, id="promo-since")
            yield Label("to", classes="filter-label")
            yield Input(placeholder="YYYY-MM-DD", max_length=10, id="promo-until")
        coupons: FittingTable[str] = FittingTable(
            id="promo-coupons", cursor_type="row", zebra_stripes=True
        )
        fixed_columns(
            coupons,
            Col("Number", "number", 14),
            Col("Status", "status", 8),
            Col("Program", "program", 20, min_width=10),
            Col("Face", "face", 7),
            Col("At-risk", "at_risk", 7),
            Col("Player", "player", 16, min_width=10),
            Col("Issued", "issued", 11),
            Col("By", "by", 4),
            Col("Expires", "expires", 11),
        )
        yield coupons

    def on_mount(self) -> None:
        super().on_mount()
        self.coupon_grid.focus()
        self.reload()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.time_zone is not None:
            self.reload()

    # -- reading -------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the programs, the lens and the current inventory page again."""
        actor = self.session.actor
        if actor is not None:
            self.load_overview(self.session.database, actor)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="promo-overview",
        description="Read the promo programs and the shift's promo lens",
    )
    def load_overview(self, database: Database, actor: Actor) -> None:
        overview = Overview(
            programs=promo.programs(database.reader(actor), actor),
            cash=cash.day_totals(database.reader(actor), actor),
            lens=promo.shift_lens(database.reader(actor), actor),
            series=promo.issuance_by_hour(database.reader(actor), actor),
        )
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_overview, overview)

    def _show_overview(self, overview: Overview) -> None:
        first = self.time_zone is None
        self.time_zone = overview.series.time_zone
        self.lens = overview.lens
        selected = self.selected_program()
        self.programs = {str(p.id): p for p in overview.programs}
        self.program_grid.clear()
        for program in overview.programs:
            self.program_grid.add_row(
                literal(program.name),
                program.promo_type.label,
                program_status_cell(self.app, program.status),
                f"{program.uses:,}" + (f"/{program.max_uses:,}" if program.max_uses else ""),
                key=str(program.id),
            )
        if selected is not None and str(selected.id) in self.programs:
            self.program_grid.move_cursor(row=self.program_grid.get_row_index(str(selected.id)))
        self._show_program_window()
        chooser = self.query_one("#promo-filter-program", Select)
        value = chooser.value
        with self.prevent(Select.Changed):
            chooser.set_options((literal(p.name), str(p.id)) for p in overview.programs)
            if isinstance(value, str) and value in self.programs:
                chooser.value = value
        self.lens_panel.show(overview.lens, overview.series, overview.cash)
        if first:
            self.reload_inventory()
        else:
            self._load()
        self.refresh_bindings()

    def _filter(self) -> CouponFilter:
        program = self.query_one("#promo-filter-program", Select).value
        status = self.query_one("#promo-filter-status", Select).value
        since = parse_day(self.query_one("#promo-since", Input).value, "Issued from")
        until = parse_day(self.query_one("#promo-until", Input).value, "to")
        if since and until and until < since:
            raise ValueError("to: the range ends before it starts")
        zone = ZoneInfo(self.time_zone or "UTC")
        return CouponFilter(
            program_id=uuid.UUID(program) if isinstance(program, str) else None,
            status=CouponStatus(status) if isinstance(status, str) else None,
            issued_since=datetime.combine(since, time(0), zone) if since else None,
            issued_until=_next_midnight(until, zone) if until else None,
        )

    def reload_inventory(self) -> None:
        """Back to the first inventory page for the filters as they stand."""
        if self.time_zone is None:
            return
        try:
            where = self._filter()
        except ValueError as error:
            self.inventory_title.update(f"Coupon inventory │ {error}")
            self.inventory_title.add_class("-error")
            return
        self.inventory_title.remove_class("-error")
        self.export_note = ""
        self.pages.restart(where)
        self._load()

    def _load(self) -> None:
        pages = self.pages
        actor = self.session.signed_in()
        self.load_page(self.session.database, actor, pages.where, pages.cursor, pages.page)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="promo-inventory",
        description="Read a page of the coupon inventory",
    )
    def load_page(
        self, database: Database, actor: Actor, where: CouponFilter, cursor: str | None, page: int
    ) -> None:
        found = promo.inventory(database.reader(actor), actor, where, cursor, PAGE_SIZE)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_page, where, page, found)

    def _show_page(self, where: CouponFilter, page: int, found: CouponPage) -> None:
        if not self.pages.accept(where, page, found.next_cursor):
            return  # the filters or the page changed while this page was read
        self.coupons = {str(row.id): row for row in found.rows}
        self.coupon_grid.clear()
        for row in found.rows:
            self.coupon_grid.add_row(
                row.validation_number,
                status_cell(self.app, row.status),
                literal(row.program_name),
                dollars(row.face_value_cents),
                dollars(row.at_risk_cents) if row.at_risk_cents else "—",
                literal(row.player_name or "anonymous"),
                short_time(row.issued_at, self.time_zone),
                row.issued_by_code or "—",
                short_time(row.expires_at, self.time_zone),
                key=str(row.id),
            )
        self._show_title(len(found.rows))
        self.refresh_bindings()

    def _show_title(self, count: int) -> None:
        parts = ["Coupon inventory", *self.pages.position(count)]
        parts.append("Enter: open coupon")
        if self.export_note:
            parts.append(self.export_note)
        self.inventory_title.update(" │ ".join(parts))

    @on(Select.Changed, "#promo-filter-program, #promo-filter-status")
    def _select_changed(self) -> None:
        self.reload_inventory()

    @on(Input.Submitted, "#promo-since, #promo-until")
    def _date_entered(self) -> None:
        self.reload_inventory()
        self.coupon_grid.focus()

    # -- selection -----------------------------------------------------------------------

    def selected_program(self) -> ProgramView | None:
        grid = self.program_grid
        if grid.row_count == 0:
            return None
        key = grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
        return self.programs.get(key or "")

    def selected_coupon(self) -> CouponView | None:
        grid = self.coupon_grid
        if grid.row_count == 0:
            return None
        key = grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
        return self.coupons.get(key or "")

    @on(DataTable.RowHighlighted, "#promo-programs")
    def _program_highlighted(self) -> None:
        self._show_program_window()
        self.refresh_bindings()

    def _show_program_window(self) -> None:
        program = self.selected_program()
        self.program_grid.border_subtitle = (
            program_window(program, self.time_zone) if program is not None else ""
        )

    @on(DataTable.RowSelected, "#promo-coupons")
    def _coupon_chosen(self) -> None:
        coupon = self.selected_coupon()
        if coupon is not None:
            self.open_coupon(coupon)

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.session.actor
        name = f"{action}('{parameters[0]}')" if parameters else action
        needed = NEEDS.get(name)
        if needed is not None and (actor is None or not can(actor.role, needed)):
            return False
        if action == "program" and parameters:
            program = self.selected_program()
            allowed_from, _ = PROGRAM_TRANSITIONS[ProgramAction(str(parameters[0]))]
            return True if program is not None and program.status in allowed_from else None
        if action == "edit_program":
            return True if self.selected_program() is not None else None
        if action in ("next_page", "previous_page"):
            return self.pages.allows(action)
        return True

    def _changed(self, outcome: object | None) -> None:
        if outcome:
            self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def action_issue(self) -> None:
        if self.time_zone is None:
            return
        programs = list(self.programs.values())
        self.app.push_screen(IssueCouponForm(programs, self.time_zone), self._changed)

    def action_lookup(self) -> None:
        def found(coupon: CouponView | None) -> None:
            if coupon is not None:
                self.open_coupon(coupon)

        self.app.push_screen(LookupForm(), found)

    def open_coupon(self, coupon: CouponView) -> None:
        """Show a coupon's card (void and replace are there)."""
        self.app.push_screen(CouponModal(coupon, self.time_zone), self._changed)

    def action_new_program(self) -> None:
        if self.time_zone is None:
            return
        now = self.session.database.clock.now().replace(second=0, microsecond=0)
        self.app.push_screen(ProgramForm(self.time_zone, now), self._program_saved)

    def action_edit_program(self) -> None:
        program = self.selected_program()
        if program is None or self.time_zone is None:
            return
        now = self.session.database.clock.now()
        self.app.push_screen(ProgramForm(self.time_zone, now, program), self._program_saved)

    def action_program(self, action: str) -> None:
        program = self.selected_program()
        if program is None:
            return
        modal = ProgramActionForm(program, ProgramAction(action), self.time_zone)
        self.app.push_screen(modal, self._program_saved)

    def _program_saved(self, saved: ProgramSaved | None) -> None:
        if saved is None:
            return
        self.notify(f"{saved.program.name}: {saved.program.status.value}.", title="Program saved")
        self.reload()

    def action_next_page(self) -> None:
        if self.pages.forward():
            self._load()

    def action_previous_page(self) -> None:
        if self.pages.back():
            self._load()

    def action_clear_filters(self) -> None:
        with self.prevent(Select.Changed):
            self.query_one("#promo-filter-program", Select).clear()
            self.query_one("#promo-filter-status", Select).clear()
        self.query_one("#promo-since", Input).value = ""
        self.query_one("#promo-until", Input).value = ""
        self.reload_inventory()

    def action_export(self) -> None:
        def exported(result: Exported) -> None:
            self.export_note = f"exported {result.rows:,} rows to {result.path}"
            self.notify(
                f"{result.rows:,} coupons written to {result.path}",
                title="CSV exported",
                markup=False,
            )
            self._show_title(self.coupon_grid.row_count)

        database, actor, where = self.session.database, self.session.signed_in(), self.pages.where
        ask_to_export(
            self,
            "Export the coupon inventory to CSV",
            "Every coupon matching the current filters, newest first.",
            "pitterm-coupons",
            lambda out: promo.export_inventory_csv(database.reader(actor), actor, where, out),
            exported,
        )


def short_time(moment: datetime, time_zone: str | None) -> str:
    """'11-21 11:42' in the casino's zone: a table cell's date and time."""
    return f"{moment.astimezone(ZoneInfo(time_zone or 'UTC')):%m-%d %H:%M}"


def _next_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), zone)
