"""Snapshots of the terminal: fixed size, frozen clock, a deterministic casino, no cursor blink.

Update with ``pytest tests/test_app_snapshots.py --snapshot-update`` and look at every changed
SVG before keeping it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from pitterm.app import PitApp
from pitterm.config import Settings
from pitterm.domain.auth import MAX_FAILED_ATTEMPTS
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError
from pitterm.runtime import Runtime
from tests.factories import CODES, PINS, build_casino, signed_in
from tests.test_app_shell import SIZE, make_app, row_labels, settle, sign_in_as, type_text

SnapCompare = Callable[..., bool]


@dataclass(frozen=True)
class FakeDemoLogin:
    """The shape of pitterm.demo.DemoLogin, for logins that match the test casino."""

    casino_code: str
    staff_code: str
    name: str
    role: StaffRole
    pin: str


ROLE_ORDER = (
    StaffRole.ADMIN,
    StaffRole.PIT_BOSS,
    StaffRole.FLOOR_SUPERVISOR,
    StaffRole.CASHIER,
    StaffRole.LOYALTY_MANAGER,
    StaffRole.DEALER,
)
FAKE_LOGINS = tuple(
    FakeDemoLogin(
        "ALPHA",
        CODES[role],
        "Ada Admin" if role is StaffRole.ADMIN else f"{role.label} Alpha",
        role,
        PINS[role],
    )
    for role in ROLE_ORDER
)


def steady_cursors(app: PitApp) -> None:
    for field in app.screen.query(Input):
        field.cursor_blink = False


def before(
    *steps: Callable[[Pilot[None]], Awaitable[None]],
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A run_before that runs the steps, waits for the workers, and stops the cursor blinking."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for step in steps:
            await step(pilot)
            await settle(pilot)
        assert isinstance(pilot.app, PitApp)
        steady_cursors(pilot.app)
        await pilot.pause()

    return run


def as_role(role: StaffRole) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def step(pilot: Pilot[None]) -> None:
        await sign_in_as(pilot, role)

    return step


def to_staff(code: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Move the admin staff list's cursor to a staff code (row order is the database's)."""

    async def step(pilot: Pilot[None]) -> None:
        grid = pilot.app.screen.query_one("#admin-staff", DataTable)
        index = row_labels(grid).index(code)
        await pilot.press(*["down"] * index)

    return step


def keys(*pressed: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def step(pilot: Pilot[None]) -> None:
        await pilot.press(*pressed)

    return step


@pytest.fixture
def demo_app(sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PitApp:
    """A demo-mode terminal (no database URL) on the test casino, with its demo logins."""
    monkeypatch.setattr("pitterm.demo_casinos.DEMO_LOGINS", FAKE_LOGINS)
    build_casino(sqlite_database)
    settings = Settings(data_dir=tmp_path, database_url=None, casino=None)
    return PitApp(Runtime(settings, sqlite_database, sqlite_database.clock))


@pytest.fixture
def app(sqlite_database: Database) -> PitApp:
    """A production terminal of casino ALPHA, staff of every role, CA1 locked out."""
    world = build_casino(sqlite_database)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(sqlite_database, world.casino, "CA1", "9999")
    return make_app(sqlite_database)


class TestSignInScreen:
    """The sign-in screen: the form, the training banner and demo logins, refusals."""

    def test_demo_mode(self, snap_compare: SnapCompare, demo_app: PitApp) -> None:
        """Demo mode: TRAINING banner, casino picker on ALPHA, the demo logins with PINs."""
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=before())

    def test_demo_login_fills_the_form(self, snap_compare: SnapCompare, demo_app: PitApp) -> None:
        """Tab to the demo logins, pick the pit boss: code and (hidden) PIN are filled in."""
        assert snap_compare(
            demo_app, terminal_size=SIZE, run_before=before(keys("tab", "tab", "down", "enter"))
        )

    def test_wrong_pin(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """Production mode: the configured casino, and a wrong PIN's attempts-left message."""

        async def wrong_pin(pilot: Pilot[None]) -> None:
            await type_text(pilot, "pb1")
            await pilot.press("enter")
            await type_text(pilot, "1111")
            await pilot.press("enter")

        assert snap_compare(app, terminal_size=SIZE, run_before=before(wrong_pin))


class TestFloorMode:
    """Floor mode: the header, the tables and the footer of keys for each role."""

    def test_pit_boss(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """A pit boss lands on the floor: both tables, modes F2–F4 and F7 in the footer."""
        assert snap_compare(app, terminal_size=SIZE, run_before=before(as_role(StaffRole.PIT_BOSS)))

    def test_dealer(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """A dealer sees only BJ-01, no filters and no other mode."""
        assert snap_compare(app, terminal_size=SIZE, run_before=before(as_role(StaffRole.DEALER)))


class TestAdminMode:
    """Admin mode: the staff, games and comp lists, and the unlock confirmation."""

    def test_staff_list(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """Every staff member with lock state, failed PINs and active flag (CA1 is locked);
        the blackjack game with its policy, limits and both tables."""
        assert snap_compare(
            app, terminal_size=SIZE, run_before=before(as_role(StaffRole.ADMIN), keys("f8"))
        )

    def test_unlock_confirmation(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """u on the locked cashier asks before unlocking."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(as_role(StaffRole.ADMIN), keys("f8"), to_staff("CA1"), keys("u")),
        )


class TestShell:
    """What spans the modes: the idle lock."""

    def test_lock_screen(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """The lock hides the work underneath and asks the signed-in staff member's PIN."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(as_role(StaffRole.PIT_BOSS), keys("ctrl+l")),
        )
