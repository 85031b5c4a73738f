"""Admin mode's comp catalog by keys: add an item, take it off the catalog, put it back."""

from __future__ import annotations

from sqlalchemy import select
from textual.widgets import DataTable

from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.tables import CompItem
from tests.factories import build_casino
from tests.test_app_shell import SIZE, drive, make_app, row_labels, settle, sign_in_as, type_text


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
