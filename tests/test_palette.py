"""The command palette by role: every action the signed-in role may take here, nothing else.

The expectations come from the role matrix (``capabilities.MATRIX``), not from lists per
role. ``NEEDS`` says which capability each palette entry needs (DESIGN §3); an admin holds
every capability, so on the same screen in the same state the admin's palette is the full
set, and every other role's must be exactly the admin's entries whose capability the role
holds. An entry ``NEEDS`` does not know fails the test, so a new key must be classified.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from pitterm.app import MODE_SPECS, PitApp
from pitterm.domain.capabilities import MATRIX, Capability, capabilities_of
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.screens.help import screen_actions
from pitterm.screens.player import PlayerScreen
from pitterm.screens.player_picker import PlayerPicker
from pitterm.screens.promo import PromoScreen
from tests.conftest import fresh_sqlite_database
from tests.player_support import build_player_world, find_player
from tests.promo_support import new_program
from tests.test_app_shell import SIZE, drive, make_app, settle, sign_in_as

C = Capability

NEEDS: dict[str, Capability | None] = {
    # Everyone signed in.
    "app: Help": None,
    "app: Quit": None,
    "session: Lock terminal": None,
    "session: Sign out": None,
    # Floor (DESIGN §3: visits and slips, cash, ghost association, the floor view).
    "floor: Rated visit": C.OPERATE_VISITS_SLIPS,
    "floor: Reward visit": C.OPERATE_VISITS_SLIPS,
    "floor: Ghost visit": C.OPERATE_VISITS_SLIPS,
    "floor: Start slip": C.OPERATE_VISITS_SLIPS,
    "floor: Close slip": C.OPERATE_VISITS_SLIPS,
    "floor: Pause/resume": C.OPERATE_VISITS_SLIPS,
    "floor: Bet": C.OPERATE_VISITS_SLIPS,
    "floor: Move": C.OPERATE_VISITS_SLIPS,
    "floor: Close visit": C.OPERATE_VISITS_SLIPS,
    "floor: Convert": C.OPERATE_VISITS_SLIPS,
    "floor: Buy-in": C.RECORD_CASH,
    "floor: Cash-out": C.RECORD_CASH,
    "floor: Associate": C.ASSOCIATE_GHOST,
    "floor: Compliance": C.VIEW_FLOOR,
    "floor: Filter by pit": C.VIEW_FLOOR,
    "floor: Filter by game": C.VIEW_FLOOR,
    "floor: Clear filters": C.VIEW_FLOOR,
    "floor: Refresh": None,
    # Player (the mode itself needs VIEW_FLOOR).
    "player: Find player": C.VIEW_FLOOR,
    "player: Ledger history": C.VIEW_FLOOR,
    "player: Refresh": C.VIEW_FLOOR,
    "player: Issue comp": C.ISSUE_COMP,
    "player: Manual credit": C.MANUAL_CREDIT,
    "player: Adjust": C.ADJUST_REVERSE,
    "player: Reverse entry": C.ADJUST_REVERSE,
    # Promo.
    "promo: Issue coupon": C.ISSUE_COUPON,
    "promo: Look up": None,
    "promo: New program": C.MANAGE_PROMO,
    "promo: Edit program": C.MANAGE_PROMO,
    "promo: Activate": C.MANAGE_PROMO,
    "promo: Pause": C.MANAGE_PROMO,
    "promo: End program": C.MANAGE_PROMO,
    "promo: Next page": None,
    "promo: Previous page": None,
    "promo: Clear filters": None,
    "promo: Export CSV": None,
    "promo: Refresh": None,
    # The player picker (a modal).
    "picker: Cancel": None,
    "picker: Enrol new player": C.OPERATE_VISITS_SLIPS,
    "picker: Results": None,
}
"""Palette entry → the capability it needs (None: any signed-in role that reaches it)."""
NEEDS.update(
    {
        f"mode: {spec.title}": None  # modes: checked against MATRIX through needs_any below
        for spec in MODE_SPECS
    }
)


def may(role: StaffRole, title: str) -> bool:
    """Whether the role may take the palette entry, by the role matrix alone."""
    if title.startswith("mode: "):
        spec = next(spec for spec in MODE_SPECS if f"mode: {spec.title}" == title)
        return not spec.needs_any or any(role in MATRIX[c] for c in spec.needs_any)
    assert title in NEEDS, f"palette entry {title!r} is not classified in NEEDS"
    needed = NEEDS[title]
    return needed is None or role in MATRIX[needed]


def palette(app: PitApp) -> list[str]:
    return [command.title for command in app.get_system_commands(app.screen)]


Step = Callable[[Pilot[None]], Awaitable[None]]


async def on_floor(pilot: Pilot[None]) -> None:
    await settle(pilot)


async def on_player_card(pilot: Pilot[None]) -> None:
    await pilot.press("f3")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PlayerScreen)
    await find_player(pilot, "hayw")
    screen = pilot.app.screen
    assert screen.card is not None and screen.selected_entry() is not None


async def on_promo(pilot: Pilot[None]) -> None:
    await pilot.press("f4")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PromoScreen)


async def in_player_picker(pilot: Pilot[None]) -> None:
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("s")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PlayerPicker)


PLACES: dict[str, tuple[Step, Capability | None]] = {
    "floor": (on_floor, None),
    "player card": (on_player_card, C.VIEW_FLOOR),
    "promo": (on_promo, C.ISSUE_COUPON),
    "player picker": (in_player_picker, C.VIEW_FLOOR),
}
"""Where the palette is opened, and the capability a role needs to get there."""


async def palettes(app: PitApp, pilot: Pilot[None], role: StaffRole) -> dict[str, list[str]]:
    """The role's palette at every place it may reach, in one sign-in (floor first)."""
    await sign_in_as(pilot, role)
    seen: dict[str, list[str]] = {}
    for place, (step, reach) in PLACES.items():
        if reach is not None and reach not in capabilities_of(role):
            continue
        await step(pilot)
        seen[place] = palette(app)
        await pilot.press("escape")  # out of a modal, if the place is one
        await settle(pilot)
    await pilot.press("ctrl+o")
    await settle(pilot)
    return seen


def test_the_admin_holds_every_capability() -> None:
    """The comparison below rests on this: the admin's palette is the full set."""
    assert capabilities_of(StaffRole.ADMIN) == frozenset(Capability)


def palette_world(database: Database) -> None:
    """The players and comps of Player mode, and a promo program to act on."""
    built = build_player_world(database)
    new_program(database, built.world.admin, name="Weekend match play")


async def palettes_of(database: Database, role: StaffRole) -> dict[str, list[str]]:
    """The role's palette at every place it may reach, on a terminal of its own."""
    app = make_app(database)
    async with app.run_test(size=SIZE) as pilot:
        return await palettes(app, pilot, role)


@pytest.fixture(scope="module")
def admin_palettes(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """The admin's palettes, once for the module: the same world built the same way, the same
    places reached by the same keys as every role's below."""
    directory = tmp_path_factory.mktemp("palette")
    with fresh_sqlite_database(sqlite_template, directory) as database:
        palette_world(database)
        return asyncio.run(palettes_of(database, StaffRole.ADMIN))


# The dealer, with no capability, has its own exact test below.
@pytest.mark.parametrize(
    "role", [role for role in StaffRole if role not in {StaffRole.ADMIN, StaffRole.DEALER}]
)
@drive
async def test_palette_lists_exactly_what_the_role_may_do(
    sqlite_database: Database, admin_palettes: dict[str, list[str]], role: StaffRole
) -> None:
    """Same screen, same state: the role's palette is the admin's minus what it may not do."""
    palette_world(sqlite_database)
    full = admin_palettes
    mine = await palettes_of(sqlite_database, role)
    assert set(full) == set(PLACES)
    assert set(mine) == {
        place
        for place, (_, reach) in PLACES.items()
        if reach is None or reach in capabilities_of(role)
    }
    for place, titles in mine.items():
        assert len(full[place]) == len(set(full[place])), f"an action is listed twice at {place}"
        assert all(may(StaffRole.ADMIN, title) for title in full[place])
        assert titles == [title for title in full[place] if may(role, title)], place


@drive
async def test_dealer_palette_on_the_floor(sqlite_database: Database) -> None:
    """A dealer has no capability: the floor, refresh, help, lock, sign out and quit."""
    build_player_world(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.DEALER)
        assert sorted(palette(app)) == sorted(
            [
                "app: Help",
                "app: Quit",
                "floor: Refresh",
                "mode: Floor",
                "session: Lock terminal",
                "session: Sign out",
            ]
        )


@drive
async def test_cashier_gets_cash_and_comps_but_no_slips(sqlite_database: Database) -> None:
    build_player_world(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.CASHIER)
        floor = set(palette(app))
        assert {"floor: Buy-in", "floor: Cash-out", "floor: Compliance"} <= floor
        assert not {"floor: Start slip", "floor: Rated visit", "floor: Associate"} & floor
        await on_player_card(pilot)
        player = set(palette(app))
        assert "player: Issue comp" in player
        assert not {"player: Manual credit", "player: Adjust", "player: Reverse entry"} & player


@drive
async def test_palette_leaves_out_textual_extras_and_unavailable_actions(
    sqlite_database: Database,
) -> None:
    """No theme, key panel or screenshot; a greyed key (no player chosen yet) is absent."""
    build_player_world(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("f3")
        await settle(pilot)
        titles = palette(app)
        assert not {"app: Theme", "app: Keys", "app: Screenshot", "app: Maximize"} & set(titles)
        assert "player: Issue comp" not in titles  # no card yet: the key is greyed
        greyed = {entry.title for entry in screen_actions(app.screen) if not entry.enabled}
        assert "player: Issue comp" in greyed
        assert titles.count("player: Find player") == 1  # two keys (s and /), one entry


@drive
async def test_palette_runs_help(sqlite_database: Database) -> None:
    from pitterm.screens.help import HelpScreen

    build_player_world(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "app: Help")
        result = command.callback()
        if result is not None:
            await result
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
