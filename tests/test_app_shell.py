"""The terminal driven by keys through Pilot: sign-in, lockout, modes per role, unlock, idle lock.

Each test builds the App through the real composition (Settings → Runtime → PitApp) around a
fresh test database, and asserts on the database where the keys changed something.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerCancelled, WorkerError, WorkerFailed

from pitterm.app import MODE_SPECS, PitApp
from pitterm.config import Settings
from pitterm.domain.auth import MAX_FAILED_ATTEMPTS
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import Staff
from pitterm.runtime import Runtime
from pitterm.screens.admin import AdminScreen
from pitterm.screens.floor import FloorScreen
from pitterm.screens.lock import LockScreen
from pitterm.screens.sign_in import SignInScreen
from tests.factories import CODES, PINS, CasinoWorld, build_casino, signed_in
from tests.textual_support import pending

SIZE = (100, 32)

P = ParamSpec("P")


def drive(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async Pilot test on its own event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def make_app(database: Database, *, casino: str | None = "ALPHA") -> PitApp:
    """A production-mode terminal (a database URL is set) on the test database."""
    settings = Settings(casino=casino, database_url="sqlite:///unused")
    return PitApp(Runtime(settings, database, database.clock))


SETTLE_TIMEOUT = 30.0
"""Seconds settle waits before failing the test (generous: CI machines are shared)."""

QUIET_POLLS = 3
"""Polls in a row that must find nothing to do before settle returns."""


async def _finished(worker: Worker[Any]) -> None:
    """Wait for a worker without raising: a failed worker is for the test to see on screen."""
    with contextlib.suppress(WorkerFailed, WorkerCancelled, WorkerError):
        await worker.wait()


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker (and whatever its result started) has finished.

    Awaits the running workers rather than sleeping (a failed worker does not raise here: a
    failure is something the tests look at on screen), then requires several polls in a row
    with no worker running and no message or callback queued anywhere in the app, since a
    worker's result may start the next worker (a card, then its ledger).
    """
    app = pilot.app
    deadline = time.monotonic() + SETTLE_TIMEOUT
    quiet = 0
    while quiet < QUIET_POLLS:
        # Every message queued on the app and the screen is handled, and the screen is
        # refreshed (callbacks waiting for a refresh run).
        await pilot.pause(0)
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"workers still running after {SETTLE_TIMEOUT:.0f} s")
        running = [worker for worker in app.workers if not worker.is_finished]
        if running:
            quiet = 0
            done, _ = await asyncio.wait(
                [asyncio.ensure_future(_finished(worker)) for worker in running], timeout=left
            )
            if len(done) < len(running):
                raise AssertionError(f"workers still running after {SETTLE_TIMEOUT:.0f} s")
        elif pending(app):
            quiet = 0
            await asyncio.sleep(0)
        else:
            quiet += 1
            await asyncio.sleep(0.001)


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text.lower())


async def sign_in(pilot: Pilot[None], code: str, pin: str) -> None:
    await settle(pilot)
    await type_text(pilot, code)
    await pilot.press("enter")
    await type_text(pilot, pin)
    await pilot.press("enter")
    await settle(pilot)


async def sign_in_as(pilot: Pilot[None], role: StaffRole) -> None:
    await sign_in(pilot, CODES[role], PINS[role])
    assert isinstance(pilot.app, PitApp)
    assert pilot.app.actor is not None and pilot.app.actor.role is role


def row_labels(table: DataTable[str]) -> list[str]:
    return [str(table.get_row_at(index)[0]) for index in range(table.row_count)]


def palette_titles(app: PitApp) -> set[str]:
    return {command.title for command in app.get_system_commands(app.screen)}


def notifications(app: PitApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def lockout(database: Database, world: CasinoWorld, code: str) -> tuple[bool, int]:
    """(locked, failed_attempts) of a staff row, read straight from the database."""
    with database.reader(Scope(world.casino.id)) as uow:
        row = uow.session.execute(
            select(Staff.locked, Staff.failed_attempts).where(Staff.code == code)
        ).one()
        return row.locked, row.failed_attempts


@drive
async def test_pit_boss_signs_in_to_the_floor(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, SignInScreen)
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        assert app.current_mode == "floor"
        assert isinstance(app.screen, FloorScreen)
        assert row_labels(app.screen.query_one("#floor-tables", DataTable)) == ["BJ-01", "BJ-02"]
        assert app.session.status is not None
        assert app.session.status.casino.code == "ALPHA"


@drive
async def test_five_wrong_pins_lock_the_account(backend: Database) -> None:
    world = build_casino(backend)
    app = make_app(backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await type_text(pilot, "ca1")
        await pilot.press("enter")
        message = app.screen.query_one("#sign-in-message", Static)
        for attempt in range(1, MAX_FAILED_ATTEMPTS + 1):
            await type_text(pilot, "9999")
            await pilot.press("enter")
            await settle(pilot)
            if attempt < MAX_FAILED_ATTEMPTS:
                left = MAX_FAILED_ATTEMPTS - attempt
                assert f"{left} attempt" in str(message.content)
        assert "locked" in str(message.content)
        assert app.actor is None
        assert any(text.startswith("AUTH_STAFF_LOCKED") for text in notifications(app))
    assert lockout(backend, world, "CA1") == (True, MAX_FAILED_ATTEMPTS)


@drive
async def test_a_dealer_sees_only_its_table_and_no_admin(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.DEALER)
        floor = app.screen
        assert isinstance(floor, FloorScreen)
        assert row_labels(floor.query_one("#floor-tables", DataTable)) == ["BJ-01"]
        await pilot.press("f8")
        await settle(pilot)
        assert app.screen is floor
        assert "mode: Admin" not in palette_titles(app)
        assert "f8" not in app.screen.active_bindings
        # Nothing to filter for a dealer: the keys are hidden too.
        assert "p" not in app.screen.active_bindings


EXPECTED_MODES: dict[StaffRole, set[str]] = {
    StaffRole.DEALER: {"floor"},
    StaffRole.FLOOR_SUPERVISOR: {"floor", "player", "promo", "audit"},
    StaffRole.PIT_BOSS: {"floor", "player", "promo", "audit"},
    StaffRole.CASHIER: {"floor", "player"},
    StaffRole.LOYALTY_MANAGER: {"floor", "player", "promo", "import", "reconcile", "audit"},
    StaffRole.ADMIN: {"floor", "player", "promo", "import", "reconcile", "audit", "admin"},
}


@pytest.mark.parametrize("role", list(StaffRole), ids=lambda role: role.value)
@drive
async def test_modes_are_offered_by_role(sqlite_database: Database, role: StaffRole) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    expected = EXPECTED_MODES[role]
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, role)
        titles = palette_titles(app)
        offered = {spec.name for spec in MODE_SPECS if f"mode: {spec.title}" in titles}
        assert offered == expected
        assert {"session: Lock terminal", "session: Sign out"} <= titles
        for spec in MODE_SPECS:
            before = app.current_mode
            await pilot.press(spec.key)
            await settle(pilot)
            assert app.current_mode == (spec.name if spec.name in expected else before)
            assert (spec.key in app.screen.active_bindings) == (spec.name in expected)


@drive
async def test_admin_unlocks_a_locked_staff_member(backend: Database) -> None:
    world = build_casino(backend)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(backend, world.casino, "CA1", "9999")
    assert lockout(backend, world, "CA1") == (True, MAX_FAILED_ATTEMPTS)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        await pilot.press("f8")
        await settle(pilot)
        admin = app.screen
        assert isinstance(admin, AdminScreen)
        grid = admin.query_one("#admin-staff", DataTable)
        index = row_labels(grid).index("CA1")
        assert grid.get_row_at(index)[3] == "LOCKED"
        await pilot.press(*["down"] * index)
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is admin
        assert grid.get_row_at(row_labels(grid).index("CA1"))[3] == "no"
    assert lockout(backend, world, "CA1") == (False, 0)


@drive
async def test_declining_the_unlock_changes_nothing(sqlite_database: Database) -> None:
    world = build_casino(sqlite_database)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(sqlite_database, world.casino, "CA1", "9999")
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        await pilot.press("f8")
        await settle(pilot)
        grid = app.screen.query_one("#admin-staff", DataTable)
        await pilot.press(*["down"] * row_labels(grid).index("CA1"))
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AdminScreen)
    assert lockout(sqlite_database, world, "CA1") == (True, MAX_FAILED_ATTEMPTS)


@drive
async def test_idle_lock_returns_to_the_same_screen(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    app.idle_check_seconds = 0.05
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = app.screen
        assert isinstance(floor, FloorScreen)
        grid = floor.query_one("#floor-tables", DataTable)
        await pilot.press("down")
        assert grid.cursor_row == 1
        app.idle_timeout_override = 0.2
        await pilot.pause(0.5)
        assert isinstance(app.screen, LockScreen)
        assert app.locked
        # Mode keys do nothing while locked.
        await pilot.press("f3")
        assert app.current_mode == "floor"
        app.idle_timeout_override = None
        await type_text(pilot, PINS[StaffRole.PIT_BOSS])
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen_stack[-1] is floor  # the very screen, kept as it was
        assert grid.cursor_row == 1
        assert not app.locked
        assert app.actor is not None


@drive
async def test_wrong_pins_at_the_lock_lock_the_account_and_sign_out(
    sqlite_database: Database,
) -> None:
    world = build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        for _ in range(MAX_FAILED_ATTEMPTS - 1):
            await type_text(pilot, "9999")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, LockScreen)
        assert "1 attempt left" in str(app.screen.query_one("#lock-message", Static).content)
        await type_text(pilot, "9999")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.actor is None
        assert any(text.startswith("AUTH_STAFF_LOCKED") for text in notifications(app))
    assert lockout(sqlite_database, world, "PB1") == (True, MAX_FAILED_ATTEMPTS)


@drive
async def test_sign_out_returns_to_sign_in_and_forgets_the_screens(
    sqlite_database: Database,
) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        assert gc.get_freeze_count() > 0  # the signed-in shell is kept out of full collections
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.actor is None
        assert gc.get_freeze_count() == 0  # and given back to the collector at sign-out
        assert "Signed out." in str(app.screen.query_one("#sign-in-message", Static).content)
        assert "mode: Floor" not in palette_titles(app)
        await pilot.press("f2")
        assert app.current_mode == "sign_in"
        # The next person gets fresh screens: a dealer's floor shows only its table.
        await sign_in_as(pilot, StaffRole.DEALER)
        assert row_labels(app.screen.query_one("#floor-tables", DataTable)) == ["BJ-01"]


@drive
async def test_floor_filters_by_pit_and_game(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.FLOOR_SUPERVISOR)
        grid = app.screen.query_one("#floor-tables", DataTable)
        filters = app.screen.query_one("#floor-filters", Static)
        await pilot.press("p")
        await settle(pilot)
        assert "Pit 1" in str(filters.content)
        assert row_labels(grid) == ["BJ-01", "BJ-02"]
        await pilot.press("g")
        await settle(pilot)
        assert "Blackjack" in str(filters.content)
        assert row_labels(grid) == ["BJ-01", "BJ-02"]
        await pilot.press("p")
        await settle(pilot)
        assert "all pits" in str(filters.content)
        await pilot.press("x")
        await settle(pilot)
        assert "all pits │ all games │ 2 tables" in str(filters.content)


@drive
async def test_palette_offers_the_screen_actions_by_category(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        assert not {t for t in palette_titles(app) if t.startswith(("mode:", "session:"))}
        await sign_in_as(pilot, StaffRole.ADMIN)
        assert {"floor: Filter by pit", "floor: Filter by game", "mode: Admin"} <= (
            palette_titles(app)
        )
        await pilot.press("f8")
        await settle(pilot)
        titles = palette_titles(app)
        assert "admin: Unlock staff" in titles
        assert "floor: Filter by pit" not in titles


@drive
async def test_palette_command_runs_the_action(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "mode: admin")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "admin"


@drive
async def test_unknown_terminal_casino_is_shown_on_the_sign_in_screen(
    sqlite_database: Database,
) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database, casino="NOPE")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        message = str(app.screen.query_one("#sign-in-message", Static).content)
        assert "No casino has the code 'NOPE'" in message
        assert any(text.startswith(ErrorCode.CASINO_NOT_FOUND) for text in notifications(app))
        await type_text(pilot, "pb1")
        await pilot.press("enter")
        await type_text(pilot, "2000")
        await pilot.press("enter")
        await settle(pilot)
        assert app.actor is None


@drive
async def test_without_a_configured_casino_the_only_one_is_used(
    sqlite_database: Database,
) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database, casino=None)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        assert app.current_mode == "floor"


@drive
async def test_without_a_configured_casino_several_casinos_is_an_error(
    sqlite_database: Database,
) -> None:
    build_casino(sqlite_database)
    build_casino(sqlite_database, "BETA")
    app = make_app(sqlite_database, casino=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        message = str(app.screen.query_one("#sign-in-message", Static).content)
        assert "several (ALPHA, BETA)" in message
        assert "PITTERM_CASINO" in message


def test_startup_probe_prints_the_time_and_exits_zero(
    sqlite_database: Database,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_casino(sqlite_database)
    # The probe counts from the command's start; in a test session that is now, not whenever
    # pitterm.cli happened to be imported.
    monkeypatch.setattr("pitterm.app.STARTED_AT", time.perf_counter())
    settings = Settings(casino="ALPHA", database_url="sqlite:///unused", data_dir=tmp_path)
    app = PitApp(Runtime(settings, sqlite_database, sqlite_database.clock), startup_probe=True)
    app.run(headless=True, size=SIZE)
    assert app.return_code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    label, seconds, unit = lines[0].split()
    assert (label, unit) == ("startup:", "s")
    assert 0 < float(seconds) < 60
