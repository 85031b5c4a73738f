"""Floor mode: tables and their seats, the slips in play, the open visits, and every floor job.

One overview query per refresh (on entering, after each job, every few seconds); between
refreshes the time played, theo and points of running slips tick locally from each slip's
frozen policy and the terminal's clock. Jobs act on the highlighted row of the focused
list (a live slip or an open visit), each through a modal and a thread worker. A dealer
sees only its table and has no jobs; every other key is shown only to roles allowed it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist
from textual.worker import get_current_worker

from pitterm.domain import floor, slips, visits
from pitterm.domain.accrual import accrue
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.cash import CashRecorded
from pitterm.domain.ctr import CtrStatus
from pitterm.domain.database import Database
from pitterm.domain.enums import CashDirection, GameType, SlipStatus, StaffRole, VisitKind
from pitterm.domain.floor import FloorView, LiveSlip, OpenVisitView, TableView
from pitterm.domain.loyalty import Credited
from pitterm.domain.players import PlayerSummary
from pitterm.domain.slips import ClosedSlip, Moved, SlipRef
from pitterm.domain.visits import (
    AssociateGhost,
    GhostAssociated,
    OpenVisit,
    VisitClosed,
    VisitCommand,
    VisitConverted,
    VisitOpened,
)
from pitterm.screens.base import ModeScreen
from pitterm.screens.cash_modal import CashForm, ctr_sentence
from pitterm.screens.compliance import ComplianceScreen
from pitterm.screens.confirm import ConfirmScreen
from pitterm.screens.player_picker import PlayerPicker
from pitterm.screens.slip_modals import (
    ChangeBetForm,
    CloseSlipModal,
    MoveSlipForm,
    SlipContext,
    StartSlipForm,
)
from pitterm.screens.visit_modals import GhostVisitForm, ManualCreditForm
from pitterm.widgets.columns import Col, fixed_columns
from pitterm.widgets.formatting import dollars, percent
from pitterm.widgets.literal import literal
from pitterm.widgets.live_table import Cell, LiveTable
from pitterm.widgets.play_format import KIND_LABELS, clock, seat_map, spoken, theo, toned

T = TypeVar("T")
R = TypeVar("R")

FILTER_ACTIONS = frozenset({"next_pit", "next_game", "clear_filters"})

JOB_CAPABILITIES: dict[str, Capability] = {
    "open_rated": Capability.OPERATE_VISITS_SLIPS,
    "open_reward": Capability.OPERATE_VISITS_SLIPS,
    "open_ghost": Capability.OPERATE_VISITS_SLIPS,
    "start_slip": Capability.OPERATE_VISITS_SLIPS,
    "close_slip": Capability.OPERATE_VISITS_SLIPS,
    "pause_resume": Capability.OPERATE_VISITS_SLIPS,
    "change_bet": Capability.OPERATE_VISITS_SLIPS,
    "move_slip": Capability.OPERATE_VISITS_SLIPS,
    "buy_in": Capability.RECORD_CASH,
    "cash_out": Capability.RECORD_CASH,
    "close_visit": Capability.OPERATE_VISITS_SLIPS,
    "convert_visit": Capability.OPERATE_VISITS_SLIPS,
    "associate_ghost": Capability.ASSOCIATE_GHOST,
    "compliance": Capability.VIEW_FLOOR,
}
"""Each floor job and the capability (DESIGN §3) a role needs to see its key."""


def _job(key: str, action: str, description: str, tooltip: str, *, show: bool = True) -> Binding:
    return Binding(key, action, description, id=f"floor.{action}", tooltip=tooltip, show=show)


class FloorScreen(ModeScreen):
    """Tables with seat maps, live slips with ticking play, and the open visits."""

    HELP = """
    The pit at a glance: tables with their seat maps, the live rating slips with time played,
    theo and points ticking, and the open visits. Jobs act on the highlighted row (Tab moves
    between the lists).

    Open a visit: rated for an identified player (earns points), reward-only for comps
    without play, or ghost for a patron with no player record (tracked for cash and
    compliance, never rated). Start, pause, resume, move and close slips, change a bet,
    record buy-ins and cash-outs, close a visit or convert a reward-only one to rated,
    associate a ghost visit with a player, and check today's CTR/MTL watch. A dealer sees
    its own table only.
    """

    MODE_NAME = "floor"
    MODE_TITLE = "Floor"

    REFRESH_SECONDS = 10.0
    """How often the floor is read again while it is on screen."""
    TABLE_ROWS = 6
    """The tables list shows this many tables before it scrolls."""
    TICK_SECONDS = 1.0
    """How often time played, theo and points tick between reads."""

    BINDINGS = [
        _job(
            "o",
            "open_rated",
            "Rated visit",
            "Open a gaming visit (identified, rated) for a player you pick or enrol.",
        ),
        _job(
            "w",
            "open_reward",
            "Reward visit",
            "Open a reward-only visit (comps, redemptions; no play) for a player.",
        ),
        _job(
            "h",
            "open_ghost",
            "Ghost visit",
            "Open a ghost gaming visit for a patron with no player record (unrated).",
        ),
        _job(
            "s",
            "start_slip",
            "Start slip",
            "Start a rating slip for the highlighted gaming visit: table, seat, average bet.",
        ),
        _job(
            "c",
            "close_slip",
            "Close slip",
            "Close the highlighted slip: preview time, policy, theo and points, then confirm.",
        ),
        _job(
            "space",
            "pause_resume",
            "Pause/resume",
            "Pause the highlighted slip (a break) or resume it; paused time earns nothing.",
        ),
        _job("b", "change_bet", "Bet", "Change the highlighted slip's average bet."),
        _job("m", "move_slip", "Move", "Move the highlighted slip's patron to another table/seat."),
        _job("i", "buy_in", "Buy-in", "Record a buy-in (cash in) on the highlighted visit."),
        _job("k", "cash_out", "Cash-out", "Record a cash-out on the highlighted visit."),
        _job(
            "v",
            "close_visit",
            "Close visit",
            "Close the highlighted visit; its live slip closes first, with accrual.",
        ),
        _job(
            "t",
            "convert_visit",
            "Convert",
            "Convert the highlighted reward-only visit to a rated gaming visit (one way).",
        ),
        _job(
            "a",
            "associate_ghost",
            "Associate",
            "Associate the highlighted ghost visit with a player (grants no points).",
        ),
        _job(
            "l",
            "compliance",
            "Compliance",
            "Today's CTR warnings and flags, per patron (ghosts included), and the MTL lines.",
        ),
        Binding(
            "p",
            "next_pit",
            "Filter by pit",
            id="floor.filter_pit",
            tooltip="Show one pit at a time; press again for the next pit, then all pits.",
        ),
        Binding(
            "g",
            "next_game",
            "Filter by game",
            id="floor.filter_game",
            tooltip="Show one game type at a time; press again for the next, then all games.",
        ),
        Binding(
            "x",
            "clear_filters",
            "Clear filters",
            id="floor.clear_filters",
            tooltip="Show every table again.",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="floor.refresh",
            tooltip="Read the floor again from the database.",
        ),
    ]

    tables_grid = getters.query_one("#floor-tables", LiveTable)
    slips_grid = getters.query_one("#floor-slips", LiveTable)
    visits_grid = getters.query_one("#floor-visits", LiveTable)

    def __init__(self) -> None:
        super().__init__()
        self.pit: str | None = None
        """The pit shown, or None for every pit."""
        self.game_type: GameType | None = None
        """The game type shown, or None for every game."""
        self.view: FloorView | None = None
        """The last overview read: what the three lists show."""
        self.all_tables: list[TableView] = []
        """Every table the actor may see, unfiltered: the choices in table fields."""
        self._pits: list[str] = []
        self._game_types: list[GameType] = []
        self._slips: dict[str, LiveSlip] = {}
        self._visits: dict[str, OpenVisitView] = {}
        self._labels: dict[uuid.UUID, str] = {}
        self._read_generation = 0
        """Counts the reads started: a read's result is shown only if no read started after it."""
        self._options_wanted = False
        """A read asked for the unfiltered tables too and none has brought them yet."""
        self._select_after: _Highlight | None = None
        """The row a job made, to highlight once a read shows it."""

    # -- layout ----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static("", id="floor-filters", markup=False)  # it names the pit shown
        tables = LiveTable(id="floor-tables", cursor_type="row")
        tables.border_title = "Tables"
        fixed_columns(
            tables,
            Col("Table", "label", 8),
            Col("Pit", "pit", 12, min_width=8),
            Col("Game", "game", 22, min_width=12),
            Col("Seats", "seats", 14, min_width=9),  # one mark a seat, at most 14
            Col("In play", "in_play", 7),
            Col("House edge", "edge", 10),
            Col("Min bet", "min", 8),
            Col("Max bet", "max", 8),
            Col("Status", "status", 6),
        )
        yield tables
        slip_grid = LiveTable(id="floor-slips", cursor_type="row")
        slip_grid.border_title = "Live slips"
        fixed_columns(
            slip_grid,
            Col("Table", "table", 8),
            Col("Seat", "seat", 4),
            Col("Patron", "patron", 28, min_width=14),
            Col("Visit", "kind", 11, min_width=6),
            Col("Status", "status", 7),
            Col("Avg bet", "bet", 8),
            Col("Played", "played", 8),
            Col("Theo", "theo", 10),
            Col("Points now", "points", 10),
        )
        yield slip_grid
        visit_grid = LiveTable(id="floor-visits", cursor_type="row")
        visit_grid.border_title = "Open visits"
        fixed_columns(
            visit_grid,
            Col("Patron", "patron", 28, min_width=14),
            Col("Visit", "kind", 11),
            Col("Open for", "open_for", 11),
            Col("Slip", "slip", 31, min_width=16),
        )
        yield visit_grid
        yield Static("", id="floor-empty")

    def on_mount(self) -> None:
        self.set_interval(self.TICK_SECONDS, self._tick, name="floor-tick")
        self.set_interval(self.REFRESH_SECONDS, self._periodic_refresh, name="floor-refresh")

    def on_screen_resume(self) -> None:
        actor = self.session.actor
        self.visits_grid.display = actor is not None and actor.role is not StaffRole.DEALER
        self.reload(options=True)

    # -- keys per role ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.session.actor
        if action in FILTER_ACTIONS:
            # A dealer sees one table: there is nothing to filter.
            return actor is not None and actor.role is not StaffRole.DEALER
        capability = JOB_CAPABILITIES.get(action)
        if capability is not None:
            return actor is not None and can(actor.role, capability)
        return True

    def _allowed(self, action: str) -> bool:
        return bool(self.check_action(action, ()))

    # -- reading the floor -----------------------------------------------------------------

    def action_next_pit(self) -> None:
        self.pit = _next(self._pits, self.pit)
        self.reload()

    def action_next_game(self) -> None:
        self.game_type = _next(self._game_types, self.game_type)
        self.reload()

    def action_clear_filters(self) -> None:
        self.pit = None
        self.game_type = None
        self.reload()

    def action_refresh(self) -> None:
        self.reload(options=True)

    def _periodic_refresh(self) -> None:
        # Not under a modal: a refresh there would move the rows a dialog is about.
        if self.is_current:
            self.reload()

    def reload(self, *, options: bool = False) -> None:
        """Read the floor for the current filters (with `options`, the unfiltered tables too).

        Every read gets the next generation; only the newest read's result is shown, so a read
        started before a job (a periodic refresh, say) cannot draw the floor as it was before
        the job over the read the job started.
        """
        actor = self.session.actor
        if actor is None:
            return
        self._show_filters()
        self._read_generation += 1
        # A read that asked for the tables list and is now outdated passes the ask on.
        self._options_wanted = self._options_wanted or options
        self.load_floor(
            self.session.database,
            actor,
            self.pit,
            self.game_type,
            options=self._options_wanted,
            generation=self._read_generation,
        )

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="floor-read",
        description="Read the floor",
    )
    def load_floor(
        self,
        database: Database,
        actor: Actor,
        pit: str | None,
        game_type: GameType | None,
        *,
        options: bool,
        generation: int,
    ) -> None:
        choices = floor.list_tables(database.reader(actor), actor) if options else None
        view = floor.overview(database.reader(actor), actor, pit=pit, game_type=game_type)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, generation, view, choices)

    def _show(self, generation: int, view: FloorView, choices: list[TableView] | None) -> None:
        # The worker's cancellation check cannot catch a result already on its way here.
        if generation != self._read_generation:
            return
        if choices is not None:
            self._options_wanted = False
            self.all_tables = choices
            self._pits = sorted({t.pit for t in choices})
            self._game_types = sorted({t.game_type for t in choices}, key=list(GameType).index)
        self.view = view
        self._labels = {t.id: t.label for t in self.all_tables}
        self._labels.update({ft.table.id: ft.table.label for ft in view.tables})
        self._show_tables(view)
        self._show_slips(view, generation)
        self._show_visits(view, generation)
        self._show_filters()
        empty = self.query_one("#floor-empty", Static)
        _update(empty, self._empty_text() if not view.tables else "")
        empty.display = not view.tables

    def _show_tables(self, view: FloorView) -> None:
        grid = self.tables_grid
        rows: list[tuple[str, list[Cell]]] = []
        for entry in view.tables:
            table = entry.table
            taken = {slip.seat: slip.status for slip in entry.slips}
            cells: list[Cell] = [
                _literal(table.label),
                _literal(table.pit),
                _literal(table.game_name),
                seat_map(table.seats, taken),
                f"{len(entry.slips)}/{table.seats}",
                percent(table.house_edge),
                dollars(table.min_bet_cents),
                dollars(table.max_bet_cents),
                table.status.value,
            ]
            rows.append((str(table.id), cells))
        grid.sync_rows(rows)  # only what changed; the cursor stays on its table
        # Room for every table up to TABLE_ROWS, then it scrolls (header and border: 3 lines),
        # and a line for the sideways scrollbar on a terminal narrower than the columns.
        columns = sum(column.get_render_width(grid) for column in grid.ordered_columns)
        sideways = 1 if columns > grid.scrollable_content_region.width else 0
        grid.styles.height = min(max(grid.row_count, 1), self.TABLE_ROWS) + 3 + sideways

    def _show_slips(self, view: FloorView, generation: int) -> None:
        grid = self.slips_grid
        self._slips = {}
        rows: list[tuple[str, list[Cell]]] = []
        elapsed = self._elapsed()
        statuses = {status: self._status_cell(status) for status in SlipStatus}
        for entry in view.tables:
            for slip in entry.slips:
                key = str(slip.slip_id)
                self._slips[key] = slip
                played, theo_now, points_now = self._now(slip, elapsed)
                cells: list[Cell] = [
                    _literal(entry.table.label),
                    str(slip.seat),
                    _literal(slip.patron),
                    KIND_LABELS[slip.visit_kind],
                    statuses[slip.status],
                    dollars(slip.average_bet_cents),
                    clock(played),
                    theo(theo_now),
                    self._points_cell(slip, points_now),
                ]
                rows.append((key, cells))
        grid.sync_rows(rows)  # only what changed; the cursor stays on its slip
        self._highlight_wanted(grid, generation)
        grid.border_subtitle = "" if grid.row_count else "No slip in play"

    def _show_visits(self, view: FloorView, generation: int) -> None:
        grid = self.visits_grid
        self._visits = {}
        rows: list[tuple[str, list[Cell]]] = []
        now = self.session.database.clock.now()
        for visit in view.visits:
            key = str(visit.visit_id)
            self._visits[key] = visit
            cells: list[Cell] = [
                _literal(visit.patron),
                KIND_LABELS[visit.kind],
                spoken(int((now - visit.opened_at).total_seconds())),
                self._slip_cell(visit),
            ]
            rows.append((key, cells))
        grid.sync_rows(rows)  # only what changed; the cursor stays on its visit
        self._highlight_wanted(grid, generation)
        grid.border_subtitle = "" if grid.row_count else "No open visit"

    def _select_after_read(self, grid: DataTable[Any], key: uuid.UUID) -> None:
        """Highlight the row `key` of `grid` once a read shows it (call before that read)."""
        self._select_after = _Highlight(grid.id or "", str(key), self._read_generation)

    def _highlight_wanted(self, grid: DataTable[Any], generation: int) -> bool:
        """Move the cursor to the row a job made, if this read shows it; True if it did.

        The wish is kept until a read shows the row; a read started after the wish that does
        not show it (the row is outside the filters) ends it.
        """
        wanted = self._select_after
        if wanted is None or wanted.grid != grid.id:
            return False
        try:
            index = grid.get_row_index(wanted.key)
        except RowDoesNotExist:
            if generation > wanted.generation:
                self._select_after = None
            return False
        self._select_after = None
        grid.move_cursor(row=index)
        return True

    def _slip_cell(self, visit: OpenVisitView) -> str | Text:
        if visit.slip_id is not None:
            slip = self._slips.get(str(visit.slip_id))
            if slip is None:
                return "live slip (outside the filters)"
            where = f"{self._labels.get(slip.table_id, '?')} seat {slip.seat}"
            return _literal(where if slip.status is SlipStatus.OPEN else f"{where}, paused")
        if visit.kind is VisitKind.REWARD_IDENTIFIED:
            return toned(self.app, "reward only: no slip", None)
        return "not seated"

    def _status_cell(self, status: SlipStatus) -> Text:
        if status is SlipStatus.PAUSED:
            return toned(self.app, "paused", "text-warning")
        return toned(self.app, "in play", "text-success", bold=False)

    def _points_cell(self, slip: LiveSlip, points_now: int) -> str | Text:
        if slip.visit_kind is not VisitKind.GAMING_IDENTIFIED_RATED:
            return toned(self.app, "unrated", None)
        return f"{points_now:,}"

    def _elapsed(self) -> int:
        """Whole seconds on the terminal's clock since the overview shown was read."""
        if self.view is None:
            return 0
        elapsed = self.session.database.clock.now() - self.view.as_of
        return max(0, int(elapsed.total_seconds()))

    def _now(self, slip: LiveSlip, elapsed: int) -> tuple[int, Any, int]:
        """Played seconds, theo and points `elapsed` seconds after the overview (paused slips
        stand still; points are the slip's accrual, shown for rated visits only)."""
        still = elapsed == 0 or slip.status is not SlipStatus.OPEN
        if still and slip.visit_kind is VisitKind.GAMING_IDENTIFIED_RATED:
            # The overview accrued the slip as of its read: nothing has accrued since.
            return slip.played_seconds, slip.theo, slip.suggested_points
        played = slip.played_seconds
        if slip.status is SlipStatus.OPEN:
            played += elapsed
        result = accrue(slip.average_bet_cents, played, slip.snapshot)
        return played, result.theo, result.points

    def _tick(self) -> None:
        """Time played, theo and points of running slips, and how long visits are open.

        From what the last read brought and the clock, without the database; a cell is
        redrawn only if what it shows changed.
        """
        if self.view is None:
            return
        elapsed = self._elapsed()
        cells: list[tuple[str, str, Cell]] = []
        for key, slip in self._slips.items():
            if slip.status is not SlipStatus.OPEN:
                continue
            played, theo_now, points_now = self._now(slip, elapsed)
            cells.append((key, "played", clock(played)))
            cells.append((key, "theo", theo(theo_now)))
            cells.append((key, "points", self._points_cell(slip, points_now)))
        self.slips_grid.set_cells(cells)
        now = self.session.database.clock.now()
        self.visits_grid.set_cells(
            (key, "open_for", spoken(int((now - visit.opened_at).total_seconds())))
            for key, visit in self._visits.items()
        )

    def _show_filters(self) -> None:
        pit = self.pit or "all pits"
        game = self.game_type.value.title() if self.game_type else "all games"
        parts = [f"Showing {pit}", game]
        if self.view is not None:
            count = len(self.view.tables)
            live = sum(len(entry.slips) for entry in self.view.tables)
            parts.append(f"{count} table{'s' if count != 1 else ''}")
            parts.append(f"{live} live slip{'s' if live != 1 else ''}")
            actor = self.session.actor
            if actor is not None and actor.role is not StaffRole.DEALER:
                n = len(self.view.visits)
                parts.append(f"{n} open visit{'s' if n != 1 else ''}")
        _update(self.query_one("#floor-filters", Static), " │ ".join(parts))

    def _empty_text(self) -> str:
        actor = self.session.actor
        if actor is not None and actor.role is StaffRole.DEALER:
            return "You are not assigned to a table. Ask your floor supervisor."
        if self.pit or self.game_type:
            return "No table matches these filters. Press x to clear them."
        return "This casino has no tables yet."

    # -- what a job acts on ----------------------------------------------------------------

    def selected_slip(self) -> LiveSlip | None:
        """The highlighted live slip: of the visits list if it has focus, else the slips list."""
        if self.focused is self.visits_grid:
            visit = self._visits.get(_selected_key(self.visits_grid) or "")
            if visit is None or visit.slip_id is None:
                return None
            return self._slips.get(str(visit.slip_id))
        return self._slips.get(_selected_key(self.slips_grid) or "")

    def selected_visit(self) -> OpenVisitView | None:
        """The highlighted open visit: of the slips list if it has focus, else the visits list."""
        if self.focused is self.slips_grid:
            slip = self._slips.get(_selected_key(self.slips_grid) or "")
            if slip is None:
                return None
            found = self._visits.get(str(slip.visit_id))
            if found is not None:
                return found
            return OpenVisitView(
                visit_id=slip.visit_id,
                kind=slip.visit_kind,
                player_id=slip.player_id,
                patron=slip.patron,
                opened_at=slip.started_at,
                slip_id=slip.slip_id,
            )
        return self._visits.get(_selected_key(self.visits_grid) or "")

    def highlighted_table(self) -> uuid.UUID | None:
        key = _selected_key(self.tables_grid)
        return uuid.UUID(key) if key else None

    def _slip_context(self, slip: LiveSlip) -> SlipContext:
        return SlipContext(
            visit_id=slip.visit_id,
            patron=slip.patron,
            kind=slip.visit_kind,
            slip_id=slip.slip_id,
            table_label=self._labels.get(slip.table_id),
            seat=slip.seat,
            status=slip.status,
            average_bet_cents=slip.average_bet_cents,
        )

    def _visit_context(self, visit: OpenVisitView) -> SlipContext:
        slip = self._slips.get(str(visit.slip_id)) if visit.slip_id else None
        if slip is not None:
            return self._slip_context(slip)
        return SlipContext(visit_id=visit.visit_id, patron=visit.patron, kind=visit.kind)

    def _need_slip(self) -> LiveSlip | None:
        slip = self.selected_slip()
        if slip is None:
            self.notify(
                "Highlight a live slip first (Tab moves between the lists).", title="No slip"
            )
        return slip

    def _need_visit(self) -> OpenVisitView | None:
        visit = self.selected_visit()
        if visit is None:
            self.notify(
                "Highlight an open visit first (Tab moves between the lists).", title="No visit"
            )
        return visit

    # -- running a job ---------------------------------------------------------------------

    def run_job(self, description: str, call: Callable[[], R], done: Callable[[R], None]) -> None:
        """Run one service call in a thread worker, then ``done`` on the UI thread and a read."""

        def work_() -> None:
            result = call()
            self.app.call_from_thread(self._job_done, done, result)

        self.run_worker(
            work_, thread=True, exit_on_error=False, group="floor-job", description=description
        )

    def confirm_then_run(
        self,
        confirm: ConfirmScreen,
        description: str,
        call: Callable[[Database, Actor], R],
        done: Callable[[R], None],
    ) -> None:
        """Ask first; on yes, run the service call as whoever is signed in at that moment."""

        def answered(yes: bool | None) -> None:
            if yes:
                database, actor = self._database()
                self.run_job(description, lambda: call(database, actor), done)

        self.app.push_screen(confirm, answered)

    def _job_done(self, done: Callable[[R], None], result: R) -> None:
        done(result)
        self.reload()

    def _database(self) -> tuple[Database, Actor]:
        return self.session.database, self.session.signed_in()

    # -- visits ----------------------------------------------------------------------------

    def action_open_rated(self) -> None:
        self._open_identified(VisitKind.GAMING_IDENTIFIED_RATED)

    def action_open_reward(self) -> None:
        self._open_identified(VisitKind.REWARD_IDENTIFIED)

    def _open_identified(self, kind: VisitKind) -> None:
        if not self._allowed("open_rated"):
            return
        key = uuid.uuid4()  # made as the job starts: picking twice cannot open twice
        title = (
            "Open a rated gaming visit: find the player"
            if kind is VisitKind.GAMING_IDENTIFIED_RATED
            else "Open a reward-only visit: find the player"
        )

        def picked(player: PlayerSummary | None) -> None:
            if player is None:
                return
            database, actor = self._database()
            command = OpenVisit(kind=kind, player_id=player.id, idempotency_key=key)
            self.run_job(
                "Open a visit",
                lambda: visits.open_visit(database.uow(actor), actor, command),
                lambda opened: self._visit_opened(opened, player.name),
            )

        self.app.push_screen(PlayerPicker(title), picked)

    def _visit_opened(self, opened: VisitOpened, patron: str) -> None:
        message = f"{patron}: {KIND_LABELS[opened.kind]} visit opened."
        if opened.closed_previous_visit_id is not None:
            minted = sum(slip.points for slip in opened.closed_slips if slip.minted)
            message += f" Yesterday's visit was closed first ({minted:,} pts accrued)."
        if opened.kind is VisitKind.GAMING_IDENTIFIED_RATED:
            message += " Press s to start a slip."
        self.notify(message, title="Visit opened")
        self._select_after_read(self.visits_grid, opened.visit_id)
        self.visits_grid.focus()

    def action_open_ghost(self) -> None:
        if not self._allowed("open_ghost"):
            return

        def opened(result: VisitOpened | None) -> None:
            if result is not None:
                self.notify(
                    "Ghost visit opened (unrated). Press s to start a slip.", title="Visit opened"
                )
                self._select_after_read(self.visits_grid, result.visit_id)
                self.visits_grid.focus()
                self.reload()

        tables = self.all_tables or [
            entry.table for entry in (self.view.tables if self.view else [])
        ]
        self.app.push_screen(GhostVisitForm(tables, self.highlighted_table()), opened)

    def action_close_visit(self) -> None:
        if not self._allowed("close_visit"):
            return
        visit = self._need_visit()
        if visit is None:
            return
        key = uuid.uuid4()
        live = " Its live slip closes first" if visit.slip_id else ""
        accrual = (
            ", and its points accrue." if visit.kind is VisitKind.GAMING_IDENTIFIED_RATED else "."
        )
        question = f"Close the {KIND_LABELS[visit.kind]} visit of {visit.patron}?"
        if live:
            question += live + accrual

        command = VisitCommand(visit_id=visit.visit_id, idempotency_key=key)
        self.confirm_then_run(
            ConfirmScreen("Close visit", question, confirm_label="Close"),
            "Close a visit",
            lambda database, actor: visits.close_visit(database.uow(actor), actor, command),
            lambda closed: self._visit_closed(closed, visit.patron),
        )

    def _visit_closed(self, closed: VisitClosed, patron: str) -> None:
        message = f"{patron}: visit closed."
        for slip in closed.closed_slips:
            if slip.minted:
                message += f" Slip closed, {slip.points:,} pts minted."
            else:
                message += " Slip closed, no points minted (unrated)."
        self.notify(message, title="Visit closed")

    def action_convert_visit(self) -> None:
        if not self._allowed("convert_visit"):
            return
        visit = self._need_visit()
        if visit is None:
            return
        if visit.kind is not VisitKind.REWARD_IDENTIFIED:
            self.notify(
                "Only a reward-only visit converts to a rated gaming visit.",
                title="Not convertible",
            )
            return
        key = uuid.uuid4()
        question = (
            f"Convert {visit.patron}'s reward-only visit to a rated gaming visit?"
            " This is one way: it cannot be turned back."
        )

        command = VisitCommand(visit_id=visit.visit_id, idempotency_key=key)
        self.confirm_then_run(
            ConfirmScreen("Convert to rated gaming", question, confirm_label="Convert"),
            "Convert a visit",
            lambda database, actor: visits.convert_to_gaming(database.uow(actor), actor, command),
            lambda converted: self._converted(converted, visit.patron),
        )

    def _converted(self, converted: VisitConverted, patron: str) -> None:
        self.notify(
            f"{patron}: now a rated gaming visit. Press s to start a slip.", title="Visit converted"
        )
        self._select_after_read(self.visits_grid, converted.visit_id)

    def action_associate_ghost(self) -> None:
        if not self._allowed("associate_ghost"):
            return
        visit = self._need_visit()
        if visit is None:
            return
        if visit.kind is not VisitKind.GAMING_GHOST_UNRATED:
            self.notify("Only a ghost visit can be associated with a player.", title="Not a ghost")
            return
        key = uuid.uuid4()

        def picked(player: PlayerSummary | None) -> None:
            if player is None:
                return
            question = (
                f"Record that {visit.patron} was {player.name}? The association is audited and"
                " grants no points: any comp for this play is a separate manual credit."
            )

            command = AssociateGhost(
                visit_id=visit.visit_id, player_id=player.id, idempotency_key=key
            )
            self.confirm_then_run(
                ConfirmScreen("Associate ghost visit", question, confirm_label="Associate"),
                "Associate a ghost visit",
                lambda database, actor: visits.associate_ghost(database.uow(actor), actor, command),
                lambda done: self._associated(done, visit, player),
            )

        self.app.push_screen(PlayerPicker(f"Who was {visit.patron}? Find the player"), picked)

    def _associated(
        self, done: GhostAssociated, visit: OpenVisitView, player: PlayerSummary
    ) -> None:
        self.notify(
            f"{visit.patron} is now recorded as {player.name}. No points were granted"
            " by the association.",
            title="Ghost associated",
        )
        if not self._allowed_credit():
            return
        reason = (
            "The association granted no points. If this play deserves a comp, credit it here"
            " as a separate, noted ledger entry. Escape: no credit."
        )

        def credited(result: Credited | None) -> None:
            if result is not None:
                self.notify(
                    f"{player.name}: {result.points_delta:,} pts credited; balance now"
                    f" {result.balance_after:,} pts.",
                    title="Manual credit",
                )

        self.app.push_screen(ManualCreditForm(player, reason, done.visit_id), credited)

    def _allowed_credit(self) -> bool:
        actor = self.session.actor
        return actor is not None and can(actor.role, Capability.MANUAL_CREDIT)

    # -- slips -----------------------------------------------------------------------------

    def action_start_slip(self) -> None:
        if not self._allowed("start_slip"):
            return
        visit = self._need_visit()
        if visit is None:
            return
        if visit.kind is VisitKind.REWARD_IDENTIFIED:
            self.notify(
                "A reward-only visit carries no slip. Convert it to rated gaming first (t).",
                title="No play on reward visits",
            )
            return
        if visit.slip_id is not None:
            self.notify(
                f"{visit.patron} already has a live slip: move it (m) or close it (c).",
                title="Slip already live",
            )
            return

        def started(ref: SlipRef | None) -> None:
            if ref is not None:
                self.notify(f"{visit.patron}: slip started.", title="Slip started")
                self._select_after_read(self.slips_grid, ref.slip_id)
                self.slips_grid.focus()
                self.reload()

        self.app.push_screen(
            StartSlipForm(self._visit_context(visit), self.all_tables, self.highlighted_table()),
            started,
        )

    def action_pause_resume(self) -> None:
        if not self._allowed("pause_resume"):
            return
        slip = self._need_slip()
        if slip is None:
            return
        database, actor = self._database()
        command = slips.SlipCommand(slip_id=slip.slip_id, idempotency_key=uuid.uuid4())
        if slip.status is SlipStatus.OPEN:
            self.run_job(
                "Pause a slip",
                lambda: slips.pause_slip(database.uow(actor), actor, command),
                lambda _: self.notify(f"{slip.patron}: slip paused.", title="Paused"),
            )
        else:
            self.run_job(
                "Resume a slip",
                lambda: slips.resume_slip(database.uow(actor), actor, command),
                lambda _: self.notify(f"{slip.patron}: slip resumed.", title="Resumed"),
            )

    def action_change_bet(self) -> None:
        if not self._allowed("change_bet"):
            return
        slip = self._need_slip()
        if slip is None:
            return

        def changed(ref: SlipRef | None) -> None:
            if ref is not None:
                self.notify(f"{slip.patron}: average bet changed.", title="Bet changed")
                self.reload()

        self.app.push_screen(ChangeBetForm(self._slip_context(slip)), changed)

    def action_move_slip(self) -> None:
        if not self._allowed("move_slip"):
            return
        slip = self._need_slip()
        if slip is None:
            return

        def moved(result: Moved | None) -> None:
            if result is None:
                return
            closed = result.closed
            accrued = f"{closed.points:,} pts minted" if closed.minted else "no points (unrated)"
            self.notify(f"{slip.patron}: moved; the old slip closed with {accrued}.", title="Moved")
            self._select_after_read(self.slips_grid, result.new_slip_id)
            self.reload()

        self.app.push_screen(MoveSlipForm(self._slip_context(slip), self.all_tables), moved)

    def action_close_slip(self) -> None:
        if not self._allowed("close_slip"):
            return
        slip = self._need_slip()
        if slip is None:
            return

        def closed(result: ClosedSlip | None) -> None:
            if result is not None:
                self.reload()

        self.app.push_screen(CloseSlipModal(self._slip_context(slip)), closed)

    # -- cash and compliance ---------------------------------------------------------------

    def action_buy_in(self) -> None:
        self._record_cash(CashDirection.CASH_IN)

    def action_cash_out(self) -> None:
        self._record_cash(CashDirection.CASH_OUT)

    def _record_cash(self, direction: CashDirection) -> None:
        if not self._allowed("buy_in"):
            return
        visit = self._need_visit()
        if visit is None:
            return

        def recorded(result: CashRecorded | None) -> None:
            if result is not None and result.totals.worst is CtrStatus.OK:
                self.notify(f"{visit.patron}: {dollars_line(result)}", title="Cash recorded")

        self.app.push_screen(CashForm(self._visit_context(visit), direction), recorded)

    def action_compliance(self) -> None:
        if self._allowed("compliance"):
            self.app.push_screen(ComplianceScreen())


def _update(static: Static, text: str) -> None:
    """Show `text` in `static` unless it shows it already (an update lays the screen out
    again, and a refresh that changes nothing should redraw nothing)."""
    if static.content != text:
        static.update(text)


@functools.lru_cache(maxsize=4096)
def _literal(text: str) -> Text:
    """``literal(text)``, made once per text: a refresh that shows the same names and labels
    hands the lists the same cells, which they see as unchanged without comparing them.
    (Cells are never modified once made.)"""
    return literal(text)


class _Highlight(NamedTuple):
    """A row to highlight once a read shows it."""

    grid: str
    """The list's id."""
    key: str
    """The row's key."""
    generation: int
    """The last read started before the row was made: its result cannot show the row."""


def dollars_line(result: CashRecorded) -> str:
    totals = result.totals
    line = f"today {dollars(totals.cash_in_cents)} in, {dollars(totals.cash_out_cents)} out."
    if totals.worst is not CtrStatus.OK:
        line += " " + ctr_sentence(totals)
    return line


def _next(choices: list[T], current: T | None) -> T | None:
    """The choice after `current`, cycling through None (meaning 'all')."""
    if not choices:
        return None
    if current is None or current not in choices:
        return choices[0]
    index = choices.index(current) + 1
    return choices[index] if index < len(choices) else None


def _selected_key(grid: DataTable[Any]) -> str | None:
    if grid.row_count == 0:
        return None
    return grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
