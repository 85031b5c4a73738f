"""Admin mode by keys: staff (add, PIN reset, deactivate), games and tables, casino settings,
the comp catalog — and a snapshot of the settings form."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from pitterm.app import PitApp
from pitterm.domain import casinos
from pitterm.domain.auth import MAX_FAILED_ATTEMPTS
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError
from pitterm.domain.tables import AuditLog, CompItem, Staff
from pitterm.screens.admin import AdminScreen
from pitterm.screens.admin_forms import (
    NewGameForm,
    NewStaffForm,
    NewTableForm,
    ResetPinForm,
    SettingsForm,
)
from tests.factories import PINS, CasinoWorld, build_casino, signed_in
from tests.test_app_shell import (
    SIZE,
    drive,
    make_app,
    notifications,
    row_labels,
    settle,
    sign_in_as,
    type_text,
)
from tests.test_app_snapshots import as_role, before, keys

SnapCompare = Callable[..., bool]


def catalog(database: Database, world_scope: object) -> dict[str, tuple[int, bool]]:
    with database.reader(world_scope) as uow:  # type: ignore[arg-type]
        return {c.name: (c.points_cost, c.active) for c in uow.session.scalars(select(CompItem))}


@drive
async def test_admin_adds_and_toggles_a_comp(sqlite_database: Database) -> None:
    world = build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"Buffet", "enter", *"Food", "enter", "1", "5", "0", "0", "enter")
        await settle(pilot)
        assert catalog(sqlite_database, world.scope) == {"Buffet": (1500, True)}
        grid = app.screen.query_one("#admin-comps", DataTable)
        assert row_labels(grid) == ["Buffet"]
        await pilot.press("tab", "t")  # focus the catalog, take the buffet off
        await settle(pilot)
        assert catalog(sqlite_database, world.scope) == {"Buffet": (1500, False)}
        await pilot.press("t")
        await settle(pilot)
        assert catalog(sqlite_database, world.scope) == {"Buffet": (1500, True)}


@drive
async def test_a_bad_cost_is_refused_inline(sqlite_database: Database) -> None:
    world = build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        await pilot.press("f8", "n")
        await settle(pilot)
        await type_text(pilot, "x")
        await pilot.press("enter", "f", "enter", "0", "enter")
        await settle(pilot)
        assert catalog(sqlite_database, world.scope) == {}
        error = str(app.screen.query_one(".form-error").render())
        assert "points_cost" in error


# -- staff, games, tables, settings ------------------------------------------------------------


def staff_rows(database: Database, world: CasinoWorld) -> dict[str, Staff]:
    with database.reader(world.scope) as uow:
        return {s.code: s for s in uow.session.scalars(select(Staff))}


async def open_admin(pilot: Pilot[None]) -> AdminScreen:
    await sign_in_as(pilot, StaffRole.ADMIN)
    await pilot.press("f8")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AdminScreen)
    return screen


async def to_staff(pilot: Pilot[None], code: str) -> None:
    grid = pilot.app.screen.query_one("#admin-staff", DataTable)
    grid.focus()
    grid.move_cursor(row=row_labels(grid).index(code))
    await pilot.pause()


async def choose(pilot: Pilot[None], downs: int) -> None:
    """In a focused Select: open it, move down ``downs`` options, take that one."""
    await pilot.press("enter", *["down"] * downs, "enter")
    await pilot.pause()


def current(app: PitApp) -> object:
    """The active screen, untyped: a dialog's result lands back on the mode screen."""
    return app.screen


def form_error(app: PitApp) -> str:
    return str(app.screen.query_one(".form-error", Static).render())


class TestStaff:
    @drive
    async def test_add_a_dealer_by_keys(self, sqlite_database: Database) -> None:
        world = build_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_admin(pilot)
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, NewStaffForm)
            await type_text(pilot, "dl2")
            await pilot.press("enter")
            await type_text(pilot, "dee")
            await pilot.press("enter")  # on to Role
            await choose(pilot, 1)  # the prompt, then Dealer first
            await pilot.press("tab")  # on to Table
            await choose(pilot, 2)  # BJ-01, BJ-02
            await pilot.press("tab")
            await type_text(pilot, "2468")
            await pilot.press("enter")
            await type_text(pilot, "2468")
            await pilot.press("enter")
            await settle(pilot)
            assert current(app) is screen
            assert any("DL2 (dee) is a dealer at BJ-02" in n for n in notifications(app))
            grid = screen.query_one("#admin-staff", DataTable)
            assert "DL2" in row_labels(grid)
        added = staff_rows(sqlite_database, world)["DL2"]
        assert added.role is StaffRole.DEALER and added.assigned_table_id == world.table_ids[1]
        assert signed_in(sqlite_database, world.casino, "DL2", "2468").role is StaffRole.DEALER

    @drive
    async def test_refusals_are_inline_and_nothing_is_written(
        self, sqlite_database: Database
    ) -> None:
        world = build_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await open_admin(pilot)
            await pilot.press("a")
            await settle(pilot)
            await type_text(pilot, "pb1")  # taken
            await pilot.press("enter")
            await type_text(pilot, "pat")
            await pilot.press("enter")
            await choose(pilot, 1)  # a dealer, with no table
            await pilot.press("tab", "tab")
            await type_text(pilot, "1357")
            await pilot.press("enter")
            await type_text(pilot, "1358")
            await pilot.press("enter")
            await settle(pilot)
            assert "assigned_table_id: a dealer must be assigned" in form_error(app)
            assert app.screen.query_one("#staff-table").has_class("-invalid")

            app.screen.query_one("#staff-role", Select).value = StaffRole.CASHIER.value
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert "pin_again: the two PINs differ" in form_error(app)

            app.screen.query_one("#staff-pin-again", Input).value = "1357"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert "STAFF_CODE_TAKEN" in form_error(app) or "already used" in form_error(app)
            assert app.screen.query_one("#staff-code").has_class("-invalid")
            await pilot.press("escape")
            await settle(pilot)
        assert len(staff_rows(sqlite_database, world)) == len(StaffRole)

    @drive
    async def test_reset_a_locked_out_pin(self, sqlite_database: Database) -> None:
        world = build_casino(sqlite_database)
        for _ in range(MAX_FAILED_ATTEMPTS):
            with pytest.raises(DomainError):
                signed_in(sqlite_database, world.casino, "CA1", "9999")
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_admin(pilot)
            await to_staff(pilot, "CA1")
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, ResetPinForm)
            facts = str(app.screen.query_one(".form-facts", Static).render())
            assert "CA1" in facts and "the reset unlocks it" in facts
            await type_text(pilot, "97531")
            await pilot.press("enter")
            await type_text(pilot, "97531")
            await pilot.press("enter")
            await settle(pilot)
            assert current(app) is screen
            assert any("CA1 (Cashier Alpha) has a new PIN." in n for n in notifications(app))
            grid = screen.query_one("#admin-staff", DataTable)
            assert grid.get_row_at(row_labels(grid).index("CA1"))[3] == "no"
        row = staff_rows(sqlite_database, world)["CA1"]
        assert not row.locked and row.failed_attempts == 0
        assert signed_in(sqlite_database, world.casino, "CA1", "97531").staff_code == "CA1"
        with sqlite_database.reader(world.scope) as uow:
            actions = list(
                uow.session.scalars(
                    select(AuditLog.action).where(AuditLog.entity_id == str(row.id))
                )
            )
        assert actions.count("staff.pin_reset") == 1

    @drive
    async def test_deactivate_then_reactivate(self, sqlite_database: Database) -> None:
        world = build_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_admin(pilot)
            grid = screen.query_one("#admin-staff", DataTable)
            await to_staff(pilot, "PB1")
            await pilot.press("d")
            await settle(pilot)
            assert "Deactivate PB1" in str(app.screen.query_one(".dialog-body", Static).render())
            await pilot.press("y")
            await settle(pilot)
            assert not staff_rows(sqlite_database, world)["PB1"].active
            assert grid.get_row_at(row_labels(grid).index("PB1"))[6] == "INACTIVE"
            assert "1 inactive" in str(screen.query_one("#admin-title", Static).render())
            with pytest.raises(DomainError):
                signed_in(sqlite_database, world.casino, "PB1", PINS[StaffRole.PIT_BOSS])

            await pilot.press("d")  # the cursor stayed on PB1
            await settle(pilot)
            assert "Reactivate PB1" in str(app.screen.query_one(".dialog-body", Static).render())
            await pilot.press("y")
            await settle(pilot)
            assert grid.get_row_at(row_labels(grid).index("PB1"))[6] == "yes"

            await to_staff(pilot, "ADM1")  # one's own account: refused before any dialog
            await pilot.press("d")
            await settle(pilot)
            assert current(app) is screen
        assert all(s.active for s in staff_rows(sqlite_database, world).values())


class TestGamesAndTables:
    @drive
    async def test_add_a_game_then_a_table_for_it(self, sqlite_database: Database) -> None:
        world = build_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_admin(pilot)
            await pilot.press("g")
            await settle(pilot)
            assert isinstance(app.screen, NewGameForm)
            await type_text(pilot, "craps")
            await pilot.press("enter", "tab")  # past Type (Blackjack): leave it
            app.screen.query_one("#game-type", Select).value = "craps"
            await type_text(pilot, "1.4")
            await pilot.press("enter")
            await type_text(pilot, "48")
            await pilot.press("enter")
            await type_text(pilot, "5")
            await pilot.press("enter", "tab")  # past Rounding (half up)
            await type_text(pilot, "10")
            await pilot.press("enter")
            await type_text(pilot, "2,000")
            await pilot.press("enter", "enter")  # policy version as suggested: submit
            await settle(pilot)
            assert current(app) is screen
            games = screen.query_one("#admin-games", DataTable)
            assert row_labels(games) == ["Blackjack 6-deck", "craps"]
            assert list(map(str, games.get_row_at(1)))[1:] == [
                "craps",
                "1.4%",
                "48",
                "5",
                "half up",
                "$10–$2,000",
                "—",
            ]

            games.focus()
            await pilot.press("down", "l")  # a table for the highlighted game
            await settle(pilot)
            assert isinstance(app.screen, NewTableForm)
            assert app.screen.query_one("#table-game", Select).value == str(
                screen.selected_game().id  # type: ignore[union-attr]
            )
            await type_text(pilot, "cr-1")
            await pilot.press("enter", "enter", "tab")  # Pit as suggested, Game as chosen
            await pilot.press("ctrl+u")
            await type_text(pilot, "12")
            await pilot.press("enter")
            await settle(pilot)
            assert current(app) is screen
            assert str(games.get_row_at(1)[7]) == "cr-1"  # table labels are literal Text
            assert any("Table cr-1 (Pit 1, craps, 12 seats)" in n for n in notifications(app))
        admin = world.admin
        [craps] = [
            g for g in casinos.list_games(sqlite_database.reader(admin), admin) if g.name == "craps"
        ]
        assert craps.house_edge == Decimal("1.4") and craps.max_bet_cents == 200_000
        assert [(t.label, t.seats) for t in craps.tables] == [("cr-1", 12)]

    @drive
    async def test_bad_game_fields_are_all_marked(self, sqlite_database: Database) -> None:
        world = build_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await open_admin(pilot)
            await pilot.press("g")
            await settle(pilot)
            await pilot.press("ctrl+s")
            await settle(pilot)
            error = form_error(app)
            for field in ("name", "house_edge", "decisions_per_hour", "min_bet_cents"):
                assert f"{field}:" in error, error
            for widget in ("#game-name", "#game-edge", "#game-decisions", "#game-min-bet"):
                assert app.screen.query_one(widget).has_class("-invalid"), widget
        admin = world.admin
        assert len(casinos.list_games(sqlite_database.reader(admin), admin)) == 1


class TestSettings:
    @drive
    async def test_change_settings_by_keys(self, sqlite_database: Database) -> None:
        world = build_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_admin(pilot)
            await pilot.press("s")
            await settle(pilot)
            assert isinstance(app.screen, SettingsForm)
            await pilot.press("ctrl+s")  # nothing changed: said so, nothing written
            await settle(pilot)
            assert "Nothing to save" in form_error(app)

            await pilot.press("enter", "enter")  # time zone → gaming day start → idle lock
            await type_text(pilot, "15")  # the focused field's text is selected: replaced
            for _ in range(5):  # on to the near-CTR fraction (row by row, two to a row)
                await pilot.press("tab")
            assert app.focused is app.screen.query_one("#setting-near_ctr_fraction")
            await type_text(pilot, "1.5")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert form_error(app).startswith("VALIDATION_FAILED: near_ctr_fraction:")
            field = app.screen.query_one("#setting-near_ctr_fraction", Input)
            assert field.has_class("-invalid")
            field.focus()
            await pilot.press("ctrl+u")
            await type_text(pilot, "0.85")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert current(app) is screen
            assert any(
                "Saved: idle lock minutes, near ctr fraction." in n for n in notifications(app)
            )
        saved = casinos.read_settings(sqlite_database.reader(world.admin), world.admin)
        assert saved.idle_lock_minutes == 15 and saved.near_ctr_fraction == Decimal("0.85")
        with sqlite_database.reader(world.scope) as uow:
            [row] = uow.session.scalars(
                select(AuditLog).where(AuditLog.action == "casino_settings.updated")
            ).all()
        assert row.before == {"idle_lock_minutes": 5, "near_ctr_fraction": "0.9"}
        assert row.after == {"idle_lock_minutes": 15, "near_ctr_fraction": "0.85"}

    @drive
    async def test_only_admins_have_the_mode(self, sqlite_database: Database) -> None:
        build_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("f8")
            await settle(pilot)
            assert not isinstance(app.screen, AdminScreen)


class TestAdminSnapshots:
    """The casino settings form."""

    def test_settings_form(self, snap_compare: SnapCompare, sqlite_database: Database) -> None:
        """s in Admin mode: every setting with its default, two to a row, time zone focused."""
        build_casino(sqlite_database)
        app = make_app(sqlite_database)
        assert snap_compare(
            app, terminal_size=SIZE, run_before=before(as_role(StaffRole.ADMIN), keys("f8", "s"))
        )
