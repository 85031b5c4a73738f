"""The trainer's simulated clock: demo mode only, every service reads it, slips accrue for it.

A demo terminal here runs on the test database with an OffsetClock over the frozen clock,
exactly as build_runtime gives demo mode an OffsetClock over the system clock: the offset
the trainer adds is the only way time moves in these tests.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from pitterm.app import PitApp
from pitterm.config import Settings
from pitterm.domain import slips
from pitterm.domain.clock import FixedClock, OffsetClock
from pitterm.domain.database import Database
from pitterm.domain.enums import LedgerReason, SlipStatus, StaffRole, VisitKind
from pitterm.domain.tables import LoyaltyLedger, RatingSlip
from pitterm.runtime import (
    Runtime,
    clock_offset_path,
    load_clock_offset,
    save_clock_offset,
)
from pitterm.screens.floor import FloorScreen
from pitterm.screens.help import HelpScreen
from pitterm.screens.lock import LockScreen
from pitterm.screens.player_picker import PlayerPicker
from pitterm.screens.slip_modals import CloseSlipModal
from pitterm.screens.trainer_clock import MAX_MINUTES, AdvanceClockModal, parse_minutes
from pitterm.widgets.training_banner import TrainingBanner, describe_offset, training_text
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol, open_visit, start
from tests.test_app_shell import SIZE, drive, make_app, settle, sign_in_as

# -- the words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(minutes=15), "+15 min"),
        (timedelta(hours=1), "+1h"),
        (timedelta(hours=1, minutes=30), "+1h 30m"),
        (timedelta(hours=4), "+4h"),
        (timedelta(days=1, hours=4, minutes=5), "+1d 4h 5m"),
        (timedelta(days=2), "+2d"),
    ],
)
def test_offsets_read_plainly(offset: timedelta, shown: str) -> None:
    assert describe_offset(offset) == shown


def test_banner_words() -> None:
    assert training_text(None) == "TRAINING — demo data"
    assert training_text(timedelta(0)) == "TRAINING — demo data"
    assert training_text(timedelta(hours=1)) == "TRAINING — demo data — clock +1h"


@pytest.mark.parametrize("typed", ["", "0", "abc", "-5", "1.5", str(MAX_MINUTES + 1)])
def test_custom_minutes_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"^minutes: a whole number from 1 to 10,080$"):
        parse_minutes(typed)


def test_custom_minutes_accepted() -> None:
    assert parse_minutes(" 90 ") == timedelta(minutes=90)
    assert parse_minutes(str(MAX_MINUTES)) == timedelta(days=7)


# -- the runtime ---------------------------------------------------------------------------


def demo_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=None, casino=None)


def trainer_database(database: Database) -> Database:
    """The test database's engine under an OffsetClock over its frozen clock."""
    assert isinstance(database.clock, FixedClock)
    return Database(database.engine, OffsetClock(database.clock))


def test_no_simulated_clock_outside_demo_mode(sqlite_database: Database) -> None:
    trainer = trainer_database(sqlite_database)
    production = Runtime(Settings(database_url="sqlite:///unused"), trainer, trainer.clock)
    assert production.trainer_clock is None
    with pytest.raises(RuntimeError, match="demo"):
        production.advance_clock(timedelta(hours=1))
    assert trainer.clock.now() == sqlite_database.clock.now()


def test_no_simulated_clock_unless_the_services_read_it(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """A clock the database does not use would move the banner and nothing else."""
    trainer = trainer_database(sqlite_database)
    elsewhere = Runtime(demo_settings(tmp_path), trainer, OffsetClock(sqlite_database.clock))
    assert elsewhere.trainer_clock is None
    plain = Runtime(demo_settings(tmp_path), sqlite_database, sqlite_database.clock)
    assert plain.trainer_clock is None  # a FixedClock has no offset to show


def test_advancing_moves_the_services_clock_and_is_kept(
    sqlite_database: Database, tmp_path: Path
) -> None:
    trainer = trainer_database(sqlite_database)
    runtime = Runtime(demo_settings(tmp_path), trainer, trainer.clock)
    before = trainer.clock.now()
    assert runtime.advance_clock(timedelta(minutes=15)) == timedelta(minutes=15)
    assert runtime.advance_clock(timedelta(hours=1)) == timedelta(minutes=75)
    assert trainer.clock.now() - before == timedelta(minutes=75)
    with trainer.reader(build_casino(trainer).scope) as uow:
        assert uow.now() - before == timedelta(minutes=75)
    with pytest.raises(ValueError, match="forward"):
        runtime.advance_clock(timedelta(minutes=-5))
    assert clock_offset_path(runtime.settings).read_text() == "4500\n"
    assert load_clock_offset(runtime.settings) == timedelta(minutes=75)


def test_saved_offset_round_trip_and_a_damaged_file(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    assert load_clock_offset(settings) == timedelta(0)
    save_clock_offset(settings, timedelta(hours=4))
    assert load_clock_offset(settings) == timedelta(hours=4)
    clock_offset_path(settings).write_text("four hours\n")
    with pytest.raises(ValueError, match="demo clock's offset in whole seconds"):
        load_clock_offset(settings)


# -- the terminal --------------------------------------------------------------------------


def demo_app(database: Database, tmp_path: Path) -> PitApp:
    return PitApp(Runtime(demo_settings(tmp_path), database, database.clock))


def banner_text(screen: object) -> str:
    assert hasattr(screen, "query")
    banners = list(screen.query(TrainingBanner))
    assert len(banners) == 1, f"{type(screen).__name__} has {len(banners)} training banners"
    return str(banners[0].content)


def rated_slip(database: Database, world: CasinoWorld) -> uuid.UUID:
    """Rita Hayworth at BJ-01 seat 2, $100 average bet, started at the frozen time."""
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(database, boss)
    visit = open_visit(database, boss, VisitKind.GAMING_IDENTIFIED_RATED, player)
    return start(database, boss, visit, world.table_ids[0], seat=2, bet_cents=10_000)


def points_cell(floor: FloorScreen, slip_id: uuid.UUID) -> str:
    grid = floor.query_one("#floor-slips", DataTable)
    return str(grid.get_cell(str(slip_id), "points"))


async def advance(pilot: Pilot[None], choice: int) -> None:
    """Ctrl+T, then the choice-th ready-made step (0: +15 min, 1: +1 h, 2: +4 h)."""
    await pilot.press("ctrl+t")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AdvanceClockModal)
    await pilot.press(*["down"] * choice, "enter")
    await settle(pilot)


@drive
async def test_an_hour_on_the_clock_accrues_on_the_floor_and_at_close(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """Thirty minutes played, +1 h: the floor shows 90 minutes' points and the close mints them."""
    trainer = trainer_database(sqlite_database)
    world = build_casino(trainer)
    slip_id = rated_slip(trainer, world)
    base = sqlite_database.clock
    assert isinstance(base, FixedClock)
    base.advance(timedelta(minutes=30))  # real time passing: half an hour of play
    boss = world.actor(StaffRole.PIT_BOSS)
    app = demo_app(trainer, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = app.screen
        assert isinstance(floor, FloorScreen)
        assert banner_text(floor) == "TRAINING — demo data"
        # $100 at 1.5% and 70 decisions an hour: $52.50 theo a half hour, 10 points a dollar.
        assert points_cell(floor, slip_id) == "525"
        await advance(pilot, 1)
        assert isinstance(app.screen, FloorScreen)  # the dialog closed, back on the floor
        assert banner_text(floor) == "TRAINING — demo data — clock +1h"
        await pilot.press("r")
        await settle(pilot)
        assert points_cell(floor, slip_id) == "1,575"
        assert slips.suggestion(trainer.reader(boss), boss, slip_id).points == 1_575
        grid = floor.query_one("#floor-slips", DataTable)
        grid.focus()
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CloseSlipModal)
        assert banner_text(app.screen) == "TRAINING — demo data — clock +1h"
        await pilot.press("y")
        await settle(pilot)
    with trainer.reader(world.scope) as uow:
        slip = uow.session.get_one(RatingSlip, slip_id)
        assert slip.status is SlipStatus.CLOSED
        assert slip.played_seconds == 90 * 60
        assert slip.points == 1_575
        assert slip.closed_at is not None
        assert slip.closed_at - slip.started_at == timedelta(minutes=90)
        minted = uow.session.scalars(
            select(LoyaltyLedger.points_delta).where(
                LoyaltyLedger.reason == LedgerReason.BASE_ACCRUAL
            )
        ).all()
        assert list(minted) == [1_575]
    assert load_clock_offset(demo_settings(tmp_path)) == timedelta(hours=1)


@drive
async def test_custom_minutes_and_a_refusal(sqlite_database: Database, tmp_path: Path) -> None:
    trainer = trainer_database(sqlite_database)
    build_casino(trainer)
    app = demo_app(trainer, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.FLOOR_SUPERVISOR)
        floor = app.screen
        await pilot.press("ctrl+t")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, AdvanceClockModal)
        await pilot.press("tab")
        minutes = modal.query_one("#clock-minutes", Input)
        assert minutes.has_focus
        await pilot.press("0", "enter")
        await settle(pilot)
        assert app.screen is modal
        error = str(modal.query_one("#clock-error", Static).content)
        assert error == "minutes: a whole number from 1 to 10,080"
        assert app.session.clock_offset() == timedelta(0)
        minutes.clear()
        await pilot.press("9", "0", "enter")
        await settle(pilot)
        assert app.screen is floor
        assert app.session.clock_offset() == timedelta(minutes=90)
        assert banner_text(floor) == "TRAINING — demo data — clock +1h 30m"
        await advance(pilot, 0)
        assert banner_text(floor) == "TRAINING — demo data — clock +1h 45m"
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is floor
        assert app.session.clock_offset() == timedelta(minutes=105)


@drive
async def test_the_banner_is_on_every_screen_and_dialog(
    sqlite_database: Database, tmp_path: Path
) -> None:
    trainer = trainer_database(sqlite_database)
    build_casino(trainer)
    app = demo_app(trainer, tmp_path)
    expected = "TRAINING — demo data"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert banner_text(app.screen) == expected  # sign-in
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await advance(pilot, 2)
        expected = "TRAINING — demo data — clock +4h"
        assert banner_text(app.screen) == expected  # the floor
        for key, kind in (("o", PlayerPicker), ("f1", HelpScreen), ("ctrl+l", LockScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, kind)
            assert banner_text(app.screen) == expected
            if kind is not LockScreen:
                await pilot.press("escape")
                await settle(pilot)
        await pilot.press("ctrl+o")  # sign out from the lock
        await settle(pilot)
        assert banner_text(app.screen) == expected  # the sign-in screen again
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        for mode in ("f3", "f4", "f7"):
            await pilot.press(mode)
            await settle(pilot)
            assert banner_text(app.screen) == expected


@drive
async def test_never_outside_demo_mode(sqlite_database: Database) -> None:
    """Production: no key, no footer entry, no palette entry, and the action does nothing."""
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        assert app.runtime.trainer_clock is None
        assert "ctrl+t" not in app.screen.active_bindings
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "training: Advance clock" not in titles
        await pilot.press("ctrl+t")
        await settle(pilot)
        app.action_advance_clock()
        await settle(pilot)
        assert isinstance(app.screen, FloorScreen)
        assert not app.screen.query(TrainingBanner)


@drive
async def test_demo_mode_offers_the_clock_in_keys_and_palette(
    sqlite_database: Database, tmp_path: Path
) -> None:
    trainer = trainer_database(sqlite_database)
    build_casino(trainer)
    app = demo_app(trainer, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.DEALER)  # any role: it is the trainer's key
        assert "ctrl+t" in app.screen.active_bindings
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "training: Advance clock" in titles
