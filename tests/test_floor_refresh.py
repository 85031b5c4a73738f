"""The floor's refresh and tick change only what changed, and the highlight stays on its row.

A refresh brings the three lists up to date in place (pitterm/widgets/live_table.py): rows
that went are removed, new rows inserted where the floor's order puts them, changed cells
updated, and every other cell left as it was; the highlighted slip or visit stays highlighted
however many rows arrive above it, and the next key acts on it (checked in the database). The
one-second tick works from the last read and the clock alone: no SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from pitterm.domain import slips, visits
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import SlipStatus, StaffRole, VisitKind
from pitterm.screens.cash_modal import CashForm
from pitterm.widgets.live_table import LiveTable
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import close, enrol, key, open_visit, start
from tests.test_app_shell import drive, make_app, settle, sign_in_as
from tests.test_floor_ui import SIZE, floor_of, focus_slips, focus_visits, slips_of, to_row

RATED = VisitKind.GAMING_IDENTIFIED_RATED


@pytest.fixture
def world(sqlite_database: Database) -> CasinoWorld:
    return build_casino(sqlite_database)


def rated_slip(
    database: Database,
    world: CasinoWorld,
    first: str,
    table: int,
    seat: int,
    bet_cents: int = 10_000,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A rated visit for a new player and its slip: (visit, slip)."""
    boss = world.actor(StaffRole.PIT_BOSS)
    visit = open_visit(database, boss, RATED, enrol(database, boss, first, "Test"))
    return visit, start(database, boss, visit, world.table_ids[table], seat, bet_cents)


def keys(grid: LiveTable) -> list[str]:
    return grid.row_keys()


def cells(grid: LiveTable, row: uuid.UUID) -> list[Any]:
    return grid.get_row(str(row))


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL sent to the database inside the block."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


@drive
async def test_a_refresh_inserts_removes_and_updates_rows_in_place(
    sqlite_database: Database, world: CasinoWorld
) -> None:
    db = sqlite_database
    boss = world.actor(StaffRole.PIT_BOSS)
    ann_visit, ann = rated_slip(db, world, "Ann", table=1, seat=1)
    bob_visit, bob = rated_slip(db, world, "Bob", table=1, seat=4)
    _, eve = rated_slip(db, world, "Eve", table=1, seat=6)
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = floor_of(app)
        grid = floor.slips_grid
        await focus_slips(pilot)
        await to_row(pilot, grid, bob)
        assert keys(grid) == [str(ann), str(bob), str(eve)]
        ann_cells, bob_cells = cells(grid, ann), cells(grid, bob)

        # Another terminal: a slip at the first table, one between Ann and Bob, Bob's bet
        # changed, Eve's slip closed.
        cy_visit, cy = rated_slip(db, world, "Cy", table=0, seat=2)
        dee_visit, dee = rated_slip(db, world, "Dee", table=1, seat=2)
        slips.change_bet(
            db.uow(boss),
            boss,
            slips.ChangeBet(slip_id=bob, average_bet_cents=25_000, idempotency_key=key()),
        )
        close(db, boss, eve)
        await pilot.press("r")
        await settle(pilot)

        assert keys(grid) == [str(cy), str(ann), str(dee), str(bob)]
        assert grid.cursor_row == grid.get_row_index(str(bob))  # three rows moved under it
        assert all(a is b for a, b in zip(cells(grid, ann), ann_cells, strict=True))
        now_bob = cells(grid, bob)
        changed = [i for i, (a, b) in enumerate(zip(now_bob, bob_cells, strict=True)) if a is not b]
        assert changed == [5] and now_bob[5] == "$250"  # the bet, and nothing else
        assert [str(c) for c in cells(grid, cy)[:3]] == ["BJ-01", "2", "Cy Test"]

        await pilot.press("space")  # pause the highlighted slip: Bob's
        await settle(pilot)
    assert slips_of(db, world, bob_visit)[-1].status is SlipStatus.PAUSED
    for visit in (ann_visit, cy_visit, dee_visit):
        assert slips_of(db, world, visit)[-1].status is SlipStatus.OPEN


@drive
async def test_the_highlighted_visit_stays_when_rows_go_and_come_above_it(
    sqlite_database: Database, world: CasinoWorld
) -> None:
    db = sqlite_database
    boss = world.actor(StaffRole.PIT_BOSS)
    assert isinstance(db.clock, FixedClock)
    first = open_visit(db, boss, RATED, enrol(db, boss, "Ann", "First"))
    db.clock.advance(timedelta(minutes=1))
    second = open_visit(db, boss, RATED, enrol(db, boss, "Bea", "Second"))
    db.clock.advance(timedelta(minutes=1))
    third = open_visit(db, boss, RATED, enrol(db, boss, "Cat", "Third"))
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = floor_of(app)
        grid = floor.visits_grid
        await focus_visits(pilot)
        await to_row(pilot, grid, third)
        assert keys(grid) == [str(first), str(second), str(third)]
        # Another terminal closes the first visit and opens one after the third.
        visits.close_visit(
            db.uow(boss), boss, visits.VisitCommand(visit_id=first, idempotency_key=key())
        )
        db.clock.advance(timedelta(minutes=1))  # the visits list is in opening order
        fourth = open_visit(db, boss, RATED, enrol(db, boss, "Dot", "Fourth"))
        await pilot.press("r")
        await settle(pilot)
        assert keys(grid) == [str(second), str(third), str(fourth)]
        assert grid.cursor_row == 1
        await pilot.press("i")  # a buy-in on the highlighted visit
        form = app.screen
        assert isinstance(form, CashForm)
        assert (form.context.visit_id, form.context.patron) == (third, "Cat Third")


@drive
async def test_the_tick_sends_no_sql_and_moves_only_running_figures(
    sqlite_database: Database, world: CasinoWorld
) -> None:
    db = sqlite_database
    boss = world.actor(StaffRole.PIT_BOSS)
    assert isinstance(db.clock, FixedClock)
    _, running = rated_slip(db, world, "Ann", table=0, seat=1, bet_cents=10_000)
    _, paused = rated_slip(db, world, "Bob", table=0, seat=2, bet_cents=10_000)
    slips.pause_slip(db.uow(boss), boss, slips.SlipCommand(slip_id=paused, idempotency_key=key()))
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = floor_of(app)
        grid = floor.slips_grid
        before_running, before_paused = cells(grid, running), cells(grid, paused)
        assert [str(c) for c in before_running[6:]] == ["0:00:00", "$0.00", "0"]
        db.clock.advance(timedelta(hours=1))
        with statements(db) as sent:
            floor._tick()  # what the one-second interval runs
        assert sent == []
        # $100 for an hour at 1.5 % and 70 decisions: theo $105, 10 points a dollar.
        assert [str(c) for c in cells(grid, running)[6:]] == ["1:00:00", "$105.00", "1,050"]
        assert all(
            a is b for a, b in zip(cells(grid, running)[:6], before_running[:6], strict=True)
        )
        assert all(a is b for a, b in zip(cells(grid, paused), before_paused, strict=True))
        # The next read agrees with what the tick showed, and changes no cell of it.
        shown = cells(grid, running)
        await pilot.press("r")
        await settle(pilot)
        assert all(a is b for a, b in zip(cells(grid, running), shown, strict=True))
