"""Snapshots of Floor mode: the live floor, the close-slip dialog, the picker, compliance.

Fixed terminal size, frozen clock, and a floor built through the services with the clock
moved between steps so every list has a deterministic order. Update with
``pytest tests/test_floor_snapshots.py --snapshot-update`` and look at every changed SVG.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from textual.pilot import Pilot

from pitterm.app import PitApp
from pitterm.domain import cash, slips
from pitterm.domain.cash import RecordCash
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import CashDirection, StaffRole, VisitKind
from tests.factories import build_casino
from tests.floor_support import enrol, key, open_visit, start
from tests.test_app_shell import make_app
from tests.test_app_snapshots import SnapCompare, as_role, before, keys

SIZE = (120, 36)


@pytest.fixture
def app(sqlite_database: Database) -> PitApp:
    """ALPHA with a rated slip, a ghost slip, a paused rated slip and a reward-only visit.

    Rita plays BJ-01 seat 2 at $100 for 1 h 30; the ghost ('red cap, cash only') BJ-01 seat 5
    at $50 for 1 h; Ada has a reward-only visit; Max played BJ-02 seat 3 at $25 for 40 min
    and is on a break. Rita's buy-in is near the CTR line; the ghost's is over it.
    """
    world = build_casino(sqlite_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    clock = sqlite_database.clock
    assert isinstance(clock, FixedClock)
    bj1, bj2 = world.table_ids
    rita = open_visit(
        sqlite_database,
        boss,
        VisitKind.GAMING_IDENTIFIED_RATED,
        enrol(sqlite_database, boss, "Rita", "Hayworth", card="RH-1001"),
    )
    start(sqlite_database, boss, rita, bj1, seat=2, bet_cents=10_000)
    clock.advance(timedelta(minutes=20))
    max_ = open_visit(
        sqlite_database,
        boss,
        VisitKind.GAMING_IDENTIFIED_RATED,
        enrol(sqlite_database, boss, "Max", "Planck", card="MP-2002"),
    )
    max_slip = start(sqlite_database, boss, max_, bj2, seat=3, bet_cents=2_500)
    clock.advance(timedelta(minutes=10))
    ghost = open_visit(
        sqlite_database,
        boss,
        VisitKind.GAMING_GHOST_UNRATED,
        description="red cap, cash only",
        table_id=bj1,
        seat=5,
    )
    start(sqlite_database, boss, ghost, bj1, seat=5, bet_cents=5_000)
    clock.advance(timedelta(minutes=30))
    slips.pause_slip(
        sqlite_database.uow(boss), boss, slips.SlipCommand(slip_id=max_slip, idempotency_key=key())
    )
    clock.advance(timedelta(minutes=5))
    open_visit(
        sqlite_database,
        boss,
        VisitKind.REWARD_IDENTIFIED,
        enrol(sqlite_database, boss, "Ada", "Lovelace", card="AL-3003"),
    )
    for visit, cents in ((rita, 950_000), (ghost, 1_200_000)):
        clock.advance(timedelta(minutes=1))  # MTL lines list in time order
        cash.record_cash(
            sqlite_database.uow(boss),
            boss,
            RecordCash(
                visit_id=visit,
                direction=CashDirection.CASH_IN,
                amount_cents=cents,
                idempotency_key=key(),
            ),
        )
    clock.advance(timedelta(minutes=23))
    return make_app(sqlite_database)


def typed(text: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def step(pilot: Pilot[None]) -> None:
        await pilot.press(*["space" if ch == " " else ch for ch in text])

    return step


PIT_BOSS = as_role(StaffRole.PIT_BOSS)


class TestFloor:
    """The floor as a pit boss sees it, and as a dealer sees it."""

    def test_live_floor(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """Seat maps, live slips with played time, theo and points (ghost unrated, Max paused),
        and the open visits including Ada's reward-only one with no slip."""
        assert snap_compare(app, terminal_size=SIZE, run_before=before(PIT_BOSS))

    def test_dealer(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """A dealer sees BJ-01 and its slips only: no visits, no jobs, no filters."""
        assert snap_compare(app, terminal_size=SIZE, run_before=before(as_role(StaffRole.DEALER)))


class TestCloseSlip:
    """The close-slip dialog before and after confirming."""

    def test_rated_preview(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """Rita's slip: 1 h 30 played, the frozen policy, theo $157.50 and 1,575 points."""
        assert snap_compare(app, terminal_size=SIZE, run_before=before(PIT_BOSS, keys("tab", "c")))

    def test_ghost_closed(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """The ghost's slip after closing: theo recorded, and plainly no points minted."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(PIT_BOSS, keys("tab", "down", "c"), keys("y")),
        )


class TestPickerAndCompliance:
    """The player picker with results, and today's compliance watch."""

    def test_player_picker(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """o opens the picker; 'ma' finds Max with his open rated visit."""
        assert snap_compare(
            app, terminal_size=SIZE, run_before=before(PIT_BOSS, keys("o"), typed("ma"))
        )

    def test_compliance(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """Rita near the CTR line, the ghost over it, and both buy-ins on the MTL."""
        assert snap_compare(app, terminal_size=SIZE, run_before=before(PIT_BOSS, keys("l")))
