"""Floor mode driven by keys only: every floor job through its modal, checked in the database.

The App is built through the real composition on a fresh SQLite test database with a frozen
clock; set-up goes through the domain services (tests.floor_support), and each test reads
the rows the keys should have written (or must not have written) straight from SQL.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.worker import NoActiveWorker, get_current_worker

from pitterm.app import PitApp
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import (
    CashDirection,
    LedgerReason,
    SlipStatus,
    StaffRole,
    VisitKind,
    VisitStatus,
)
from pitterm.domain.tables import CashTransaction, Player, RatingSlip, Visit
from pitterm.screens.cash_modal import CashForm
from pitterm.screens.compliance import ComplianceScreen
from pitterm.screens.floor import FloorScreen
from pitterm.screens.player_picker import EnrolForm, PlayerPicker
from pitterm.screens.slip_modals import CloseSlipModal, StartSlipForm
from pitterm.screens.visit_modals import ManualCreditForm
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol, ledger_entries, open_visit, start
from tests.test_app_shell import drive, make_app, notifications, settle, sign_in_as

SIZE = (120, 36)


@pytest.fixture
def world(sqlite_database: Database) -> CasinoWorld:
    return build_casino(sqlite_database)


def advance(database: Database, **delta: float) -> None:
    assert isinstance(database.clock, FixedClock)
    database.clock.advance(timedelta(**delta))


async def type_keys(pilot: Pilot[Any], text: str) -> None:
    """Type text as keystrokes (letters, digits, spaces and punctuation)."""
    await pilot.press(*["space" if ch == " " else ch for ch in text])


def floor_of(app: PitApp) -> FloorScreen:
    screen = app.screen
    assert isinstance(screen, FloorScreen)
    return screen


async def focus_visits(pilot: Pilot[Any]) -> None:
    """Tab from the tables list past the slips to the open visits."""
    floor = floor_of(pilot.app)
    while pilot.app.focused is not floor.visits_grid:
        await pilot.press("tab")


async def focus_slips(pilot: Pilot[Any]) -> None:
    floor = floor_of(pilot.app)
    while pilot.app.focused is not floor.slips_grid:
        await pilot.press("tab")


async def to_row(pilot: Pilot[Any], grid: DataTable[Any], key: uuid.UUID) -> None:
    """Move a list's cursor to a row by pressing up/down."""
    target = grid.get_row_index(str(key))
    while grid.cursor_row < target:
        await pilot.press("down")
    while grid.cursor_row > target:
        await pilot.press("up")


def visit_row(database: Database, world: CasinoWorld, visit_id: uuid.UUID) -> Visit:
    with database.reader(world.scope) as uow:
        visit = uow.session.get(Visit, visit_id)
        assert visit is not None
        uow.session.expunge(visit)
        return visit


def slips_of(database: Database, world: CasinoWorld, visit_id: uuid.UUID) -> list[RatingSlip]:
    with database.reader(world.scope) as uow:
        rows = list(
            uow.session.scalars(
                select(RatingSlip)
                .where(RatingSlip.visit_id == visit_id)
                .order_by(RatingSlip.started_at, RatingSlip.closed_at)
            )
        )
        uow.session.expunge_all()
        return rows


def open_visits(database: Database, world: CasinoWorld) -> list[Visit]:
    with database.reader(world.scope) as uow:
        rows = list(uow.session.scalars(select(Visit).where(Visit.status == VisitStatus.OPEN)))
        uow.session.expunge_all()
        return rows


def text_of(widget: Static) -> str:
    return str(widget.render())


class TestOpeningVisits:
    """The three visit archetypes, opened from the floor."""

    @drive
    async def test_rated_visit_for_a_searched_player(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        rita = enrol(sqlite_database, boss, "Rita", "Hayworth", card="RH-1001")
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("o")
            assert isinstance(app.screen, PlayerPicker)
            await type_keys(pilot, "hay")
            await settle(pilot)
            assert app.screen.results.row_count == 1
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, FloorScreen)
            assert app.screen.visits_grid.row_count == 1
        [visit] = open_visits(sqlite_database, world)
        assert (visit.player_id, visit.visit_kind) == (rita, VisitKind.GAMING_IDENTIFIED_RATED)

    @drive
    async def test_reward_visit_for_a_newly_enrolled_player(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("w")
            await type_keys(pilot, "newton")
            await settle(pilot)
            assert "No player matches" in text_of(app.screen.query_one("#picker-status", Static))
            await pilot.press("ctrl+n")
            assert isinstance(app.screen, EnrolForm)
            await type_keys(pilot, "Isaac")
            await pilot.press("enter", "enter")  # the last name is filled from the search
            await type_keys(pilot, "1643-01-04")
            await pilot.press("enter", "enter", "enter", "enter")
            await settle(pilot)
            # A date before 1900 is refused inline; the form stays open.
            assert isinstance(app.screen, EnrolForm)
            error = text_of(app.screen.query_one(".form-error", Static))
            assert "date_of_birth" in error
            dob = app.screen.query_one("#enrol-dob")
            assert dob.has_class("-invalid")
            await pilot.press("shift+tab", "shift+tab", "shift+tab")  # card → … → birth date
            assert dob.has_focus
            await pilot.press("end", "ctrl+u")
            await type_keys(pilot, "1942-12-25")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, FloorScreen)
        with sqlite_database.reader(world.scope) as uow:
            player = uow.session.scalars(select(Player)).one()
            assert (player.first_name, player.last_name) == ("Isaac", "Newton")
            player_id = player.id
        [visit] = open_visits(sqlite_database, world)
        assert (visit.player_id, visit.visit_kind) == (player_id, VisitKind.REWARD_IDENTIFIED)

    @drive
    async def test_ghost_visit_keeps_what_staff_know(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("h")
            await type_keys(pilot, "red cap, cash only")
            await pilot.press("enter")  # to the table: BJ-01, highlighted on the floor
            await pilot.press("tab")
            await type_keys(pilot, "3")
            await pilot.press("enter")
            await type_keys(pilot, "tips the dealer")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, FloorScreen)
        [visit] = open_visits(sqlite_database, world)
        assert visit.visit_kind is VisitKind.GAMING_GHOST_UNRATED
        assert visit.player_id is None
        assert (visit.ghost_description, visit.notes) == ("red cap, cash only", "tips the dealer")
        assert (visit.ghost_table_id, visit.ghost_seat) == (world.table_ids[0], 3)


class TestSlips:
    """A rated slip's whole life by keys, and a ghost slip's close."""

    @drive
    async def test_start_pause_resume_bet_move_and_close(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        rita = enrol(sqlite_database, boss, "Rita", "Hayworth")
        visit = open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, rita)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_visits(pilot)
            await pilot.press("s")
            assert isinstance(app.screen, StartSlipForm)
            await type_keys(pilot, "2")  # table BJ-01 comes from the floor; seat first
            await pilot.press("enter")
            await type_keys(pilot, "100")
            await pilot.press("enter")
            await settle(pilot)
            floor = floor_of(app)
            [slip] = slips_of(sqlite_database, world, visit)
            assert (slip.table_id, slip.seat, slip.average_bet_cents) == (
                world.table_ids[0],
                2,
                10_000,
            )
            assert app.focused is floor.slips_grid

            advance(sqlite_database, hours=1)
            await pilot.press("space")
            await settle(pilot)
            assert slips_of(sqlite_database, world, visit)[0].status is SlipStatus.PAUSED
            advance(sqlite_database, minutes=10)
            await pilot.press("space")
            await settle(pilot)
            assert slips_of(sqlite_database, world, visit)[0].status is SlipStatus.OPEN

            await pilot.press("b")
            await type_keys(pilot, "200")
            await pilot.press("enter")
            await settle(pilot)
            assert slips_of(sqlite_database, world, visit)[0].average_bet_cents == 20_000

            advance(sqlite_database, hours=1)
            await pilot.press("m")
            await pilot.press("enter", "down", "enter")  # open the table list, pick BJ-02
            await pilot.press("tab")
            await type_keys(pilot, "4")
            await pilot.press("enter")
            await settle(pilot)
            first, second = slips_of(sqlite_database, world, visit)
            assert first.status is SlipStatus.CLOSED
            # The average bet is the slip's for all its play: $200 × 1.5% × 70/h × 2 h played
            # (the 10-minute pause excluded).
            assert first.points == 4_200
            assert (second.table_id, second.seat) == (world.table_ids[1], 4)
            assert second.status is SlipStatus.OPEN

            advance(sqlite_database, minutes=30)
            await pilot.press("r")
            await settle(pilot)
            await to_row(pilot, floor.slips_grid, second.id)
            await pilot.press("c")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, CloseSlipModal)
            preview = text_of(modal.body)
            for fact in (
                "0:30:00",
                "1.5%",
                "70",
                "10 pts per $1 theo",
                "half up",
                "loyalty_points_v1",
                "$105.00",
                "1,050 pts",
            ):
                assert fact in preview
            await pilot.press("y")
            await settle(pilot)
            outcome = text_of(modal.outcome)
            assert "1,050 pts" in outcome
            assert "5,250 pts" in outcome  # the new balance: 4,200 + 1,050
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is floor
            assert floor.slips_grid.row_count == 0
        accruals = ledger_entries(sqlite_database, world.scope, LedgerReason.BASE_ACCRUAL)
        assert [(e.rating_slip_id, e.points_delta) for e in accruals] == [
            (first.id, 4_200),
            (second.id, 1_050),
        ]
        assert str(accruals[1].id) in outcome

    @drive
    async def test_closing_a_ghost_slip_mints_nothing(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        ghost = open_visit(
            sqlite_database, boss, VisitKind.GAMING_GHOST_UNRATED, description="red cap"
        )
        slip = start(sqlite_database, boss, ghost, world.table_ids[0], seat=5)
        advance(sqlite_database, hours=2)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_slips(pilot)
            await pilot.press("c")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, CloseSlipModal)
            assert "No points will be minted" in text_of(modal.body)
            assert "$210.00" in text_of(modal.body)
            await pilot.press("y")
            await settle(pilot)
            outcome = text_of(modal.outcome)
            assert "No points minted" in outcome
            assert "unrated" in outcome
            await pilot.press("enter")
        [closed] = slips_of(sqlite_database, world, ghost)
        assert closed.id == slip
        assert closed.status is SlipStatus.CLOSED
        assert closed.points is None
        assert ledger_entries(sqlite_database, world.scope) == []

    @drive
    async def test_a_taken_seat_is_refused_inline(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        seated = open_visit(sqlite_database, boss, VisitKind.GAMING_GHOST_UNRATED, description="a")
        start(sqlite_database, boss, seated, world.table_ids[0], seat=1)
        advance(sqlite_database, minutes=1)
        rita = enrol(sqlite_database, boss)
        waiting = open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, rita)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_visits(pilot)
            await to_row(pilot, floor_of(app).visits_grid, waiting)
            await pilot.press("s")
            await type_keys(pilot, "1")
            await pilot.press("enter")
            await type_keys(pilot, "50")
            await pilot.press("enter")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, StartSlipForm)
            assert "SEAT_TAKEN" in text_of(form.query_one(".form-error", Static))
            assert form.query_one("#start-seat").has_class("-invalid")
            assert any(text.startswith("SEAT_TAKEN") for text in notifications(app))
            # Same form, same key: fix the seat and submit again.
            await pilot.press("shift+tab")
            await pilot.press("backspace")
            await type_keys(pilot, "2")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, FloorScreen)
        [slip] = slips_of(sqlite_database, world, waiting)
        assert slip.seat == 2


class TestVisitsAndCash:
    """Cash with the CTR watch, closing and converting visits, associating a ghost."""

    @drive
    async def test_buy_in_near_the_ctr_threshold_warns(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        rita = enrol(sqlite_database, boss, "Rita", "Hayworth")
        visit = open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, rita)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_visits(pilot)
            await pilot.press("i")
            form = app.screen
            assert isinstance(form, CashForm)
            await type_keys(pilot, "9.5.0")  # not an amount: refused inline
            await pilot.press("enter")
            assert "not an amount" in text_of(form.query_one(".form-error", Static))
            await pilot.press(*["backspace"] * 5)
            await type_keys(pilot, "$9,500")
            await pilot.press("enter")
            await settle(pilot)
            result = text_of(form.query_one("#cash-result", Static))
            assert "$9,500" in result
            assert "near CTR" in result
            assert "MTL" in result
            assert any("near the CTR threshold" in text for text in notifications(app))
            await pilot.press("enter")
            assert isinstance(app.screen, FloorScreen)

            await pilot.press("l")
            await settle(pilot)
            compliance = app.screen
            assert isinstance(compliance, ComplianceScreen)
            row = [str(cell) for cell in compliance.ctr_table.get_row_at(0)]
            assert row[:3] == ["Rita Hayworth", "$9,500", "near CTR"]
            assert compliance.mtl.row_count == 1
            await pilot.press("escape")
            assert isinstance(app.screen, FloorScreen)
        with sqlite_database.reader(world.scope) as uow:
            tx = uow.session.scalars(select(CashTransaction)).one()
            assert (tx.visit_id, tx.direction, tx.amount_cents) == (
                visit,
                CashDirection.CASH_IN,
                950_000,
            )

    @drive
    async def test_close_a_visit_closes_its_slip_with_accrual(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        rita = enrol(sqlite_database, boss)
        visit = open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, rita)
        start(sqlite_database, boss, visit, world.table_ids[0], bet_cents=10_000)
        advance(sqlite_database, hours=2)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_visits(pilot)
            await pilot.press("v", "y")
            await settle(pilot)
            assert floor_of(app).visits_grid.row_count == 0
        assert visit_row(sqlite_database, world, visit).status is VisitStatus.CLOSED
        [slip] = slips_of(sqlite_database, world, visit)
        assert slip.status is SlipStatus.CLOSED
        [entry] = ledger_entries(sqlite_database, world.scope, LedgerReason.BASE_ACCRUAL)
        assert entry.points_delta == 2_100

    @drive
    async def test_convert_a_reward_visit_to_rated_gaming(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        visit = open_visit(
            sqlite_database, boss, VisitKind.REWARD_IDENTIFIED, enrol(sqlite_database, boss)
        )
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_visits(pilot)
            await pilot.press("s")  # a reward visit has no slip: refused before any form
            assert isinstance(app.screen, FloorScreen)
            assert any("carries no slip" in text for text in notifications(app))
            await pilot.press("t", "y")
            await settle(pilot)
        assert visit_row(sqlite_database, world, visit).visit_kind is (
            VisitKind.GAMING_IDENTIFIED_RATED
        )

    @drive
    async def test_associate_a_ghost_grants_no_points(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        ghost = open_visit(
            sqlite_database, boss, VisitKind.GAMING_GHOST_UNRATED, description="red cap"
        )
        rita = enrol(sqlite_database, boss, "Rita", "Hayworth")
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_visits(pilot)
            await pilot.press("a")
            await type_keys(pilot, "hayworth")
            await settle(pilot)
            await pilot.press("enter", "y")
            await settle(pilot)
            assert any("No points were granted" in text for text in notifications(app))
            assert isinstance(app.screen, ManualCreditForm)  # offered, not given
            await pilot.press("escape")
        visit = visit_row(sqlite_database, world, ghost)
        assert (visit.associated_player_id, visit.player_id) == (rita, None)
        assert ledger_entries(sqlite_database, world.scope) == []

    @drive
    async def test_associate_then_a_manual_credit(
        self, sqlite_database: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        open_visit(sqlite_database, boss, VisitKind.GAMING_GHOST_UNRATED, description="red cap")
        rita = enrol(sqlite_database, boss, "Rita", "Hayworth")
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await focus_visits(pilot)
            await pilot.press("a")
            await type_keys(pilot, "rita")
            await settle(pilot)
            await pilot.press("enter", "y")
            await settle(pilot)
            await type_keys(pilot, "250")
            await pilot.press("enter")
            await type_keys(pilot, "comp for ghost play")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, FloorScreen)
        [entry] = ledger_entries(sqlite_database, world.scope)
        assert (entry.player_id, entry.reason, entry.points_delta) == (
            rita,
            LedgerReason.MANUAL_REWARD,
            250,
        )


class HeldReads:
    """Reads of the floor held back on their way to the screen, let through in a chosen order.

    A floor read runs in a thread worker of the "floor-read" group and hands its result to the
    UI thread through `app.call_from_thread`. While holding, that hand-over is kept here and
    returns at once: the read is done, past its worker's cancellation check, its result in
    flight. That is the moment a periodic refresh can be in when a job finishes.
    """

    def __init__(self, app: PitApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.held: list[Callable[[], object]] = []
        self.holding = False
        self._lock = threading.Lock()
        deliver = app.call_from_thread

        def call_from_thread(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            try:
                group = get_current_worker().group
            except NoActiveWorker:
                group = None
            if self.holding and group == "floor-read":
                with self._lock:
                    self.held.append(functools.partial(callback, *args, **kwargs))
                return None
            return deliver(callback, *args, **kwargs)

        monkeypatch.setattr(app, "call_from_thread", call_from_thread)

    async def wait_for(self, pilot: Pilot[Any], count: int) -> None:
        """Wait until `count` reads have been held."""
        for _ in range(500):
            if len(self.held) >= count:
                return
            await pilot.pause(0.01)
        raise AssertionError(f"{len(self.held)} floor reads held, expected {count}")

    async def release(self, pilot: Pilot[Any], *, stale_last: bool) -> None:
        """Stop holding and show the held reads: the first (stale) one first or last."""
        self.holding = False
        with self._lock:
            held, self.held = self.held, []
        order = [*held[1:], held[0]] if stale_last else held
        for show in order:
            show()
            await pilot.pause()
        await settle(pilot)


STALE_ORDERS = pytest.mark.parametrize(
    "stale_last", [False, True], ids=["stale-read-shown-first", "stale-read-shown-last"]
)
"""A read started before a job, shown between the job and the read after it, or after both."""


class TestHighlightAfterJobs:
    """After a job the new row is highlighted, whatever a periodic read started before it does.

    The floor's periodic refresh can be reading when a job finishes: its result, older than
    the job, reaches the screen around the read the job started. The next key must still act
    on the row the job made, never on the first row of the list.
    """

    @STALE_ORDERS
    @drive
    async def test_a_new_visit_keeps_the_highlight(
        self,
        sqlite_database: Database,
        world: CasinoWorld,
        monkeypatch: pytest.MonkeyPatch,
        stale_last: bool,
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        ann = enrol(sqlite_database, boss, "Ann", "Miller")
        open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, ann)
        rita = enrol(sqlite_database, boss, "Rita", "Hayworth", card="RH-1001")
        advance(sqlite_database, minutes=5)  # Rita's visit, opened below, lists after Ann's
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            floor = floor_of(app)
            await focus_visits(pilot)
            highlighted = floor.selected_visit()
            assert highlighted is not None and highlighted.player_id == ann
            reads = HeldReads(app, monkeypatch)
            reads.holding = True
            floor.reload()  # the periodic refresh: it reads the floor before Rita's visit
            await reads.wait_for(pilot, 1)
            await pilot.press("o")
            await type_keys(pilot, "hay")
            await settle(pilot)
            await pilot.press("enter")  # the visit opens; the floor reads again
            await reads.wait_for(pilot, 2)
            await reads.release(pilot, stale_last=stale_last)

            [new] = [v for v in open_visits(sqlite_database, world) if v.player_id == rita]
            grid = floor.visits_grid
            assert grid.row_count == 2
            assert app.focused is grid
            assert grid.cursor_row == grid.get_row_index(str(new.id))
            await pilot.press("s")
            form = app.screen
            assert isinstance(form, StartSlipForm)
            assert (form.context.visit_id, form.context.patron) == (new.id, "Rita Hayworth")

    @STALE_ORDERS
    @drive
    async def test_a_new_slip_keeps_the_highlight(
        self,
        sqlite_database: Database,
        world: CasinoWorld,
        monkeypatch: pytest.MonkeyPatch,
        stale_last: bool,
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        ann = enrol(sqlite_database, boss, "Ann", "Miller")
        ann_visit = open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, ann)
        start(sqlite_database, boss, ann_visit, world.table_ids[0], seat=1)
        advance(sqlite_database, minutes=5)
        rita = enrol(sqlite_database, boss, "Rita", "Hayworth")
        rita_visit = open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, rita)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            floor = floor_of(app)
            await focus_visits(pilot)
            await to_row(pilot, floor.visits_grid, rita_visit)
            reads = HeldReads(app, monkeypatch)
            reads.holding = True
            floor.reload()  # the periodic refresh: it reads the floor before Rita's slip
            await reads.wait_for(pilot, 1)
            await pilot.press("s")
            assert isinstance(app.screen, StartSlipForm)
            await type_keys(pilot, "5")  # BJ-01, highlighted on the floor; seat 5, after Ann
            await pilot.press("enter")
            await type_keys(pilot, "100")
            await pilot.press("enter")  # the slip starts; the floor reads again
            await reads.wait_for(pilot, 2)
            await reads.release(pilot, stale_last=stale_last)

            [new] = slips_of(sqlite_database, world, rita_visit)
            grid = floor.slips_grid
            assert grid.row_count == 2
            assert app.focused is grid
            assert grid.cursor_row == grid.get_row_index(str(new.id))
            await pilot.press("space")  # pause the highlighted slip: Rita's
            await settle(pilot)
        assert slips_of(sqlite_database, world, rita_visit)[0].status is SlipStatus.PAUSED
        [ann_slip] = slips_of(sqlite_database, world, ann_visit)
        assert ann_slip.status is SlipStatus.OPEN


class TestKeysByRole:
    """Roles see only the floor jobs they may do."""

    JOBS = {"o", "w", "h", "s", "c", "space", "b", "m", "v", "t"}

    @pytest.mark.parametrize(
        ("role", "jobs", "cash", "associate"),
        [
            (StaffRole.PIT_BOSS, True, True, True),
            (StaffRole.FLOOR_SUPERVISOR, True, True, False),
            (StaffRole.CASHIER, False, True, False),
            (StaffRole.LOYALTY_MANAGER, False, False, False),
            (StaffRole.DEALER, False, False, False),
        ],
        ids=lambda value: value.value if isinstance(value, StaffRole) else None,
    )
    @drive
    async def test_keys(
        self,
        sqlite_database: Database,
        world: CasinoWorld,
        role: StaffRole,
        jobs: bool,
        cash: bool,
        associate: bool,
    ) -> None:
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, role)
            floor = floor_of(app)
            enabled = {key for key, active in floor.active_bindings.items() if active.enabled}
            assert (enabled >= self.JOBS) is jobs
            assert jobs or not (self.JOBS & enabled)
            assert ({"i", "k"} <= enabled) is cash
            assert ("a" in enabled) is associate
            assert ("l" in enabled) is (role is not StaffRole.DEALER)
            assert floor.visits_grid.display is (role is not StaffRole.DEALER)
            await pilot.press("o")
            assert (app.screen is floor) is not jobs
