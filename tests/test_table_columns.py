"""Tables look the same whenever their rows arrive: no column is left cut to its header.

Textual 8.2.8's DataTable sizes a column added without a width only once it is idle after
the rows arrive, and lines it drew before that stay cached at the header widths ('Edward
16,427 +4,75 mater') until something else redraws the table. These tests draw a table
straight after its rows are filled, before it is idle (as a repaint landing just then
does), let it go idle, and read what it shows then. pitterm gives every column a fixed width
(pitterm.widgets.columns), so there is nothing to settle.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable

from pitterm.app import MODE_SPECS, PitApp
from pitterm.domain import players
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.screens.audit import AuditScreen
from pitterm.screens.player_picker import PlayerPicker
from pitterm.widgets.columns import Col, FittingTable, fixed_columns
from tests.factories import build_casino
from tests.floor_support import enrol
from tests.test_app_shell import drive, make_app, settle, sign_in_as
from tests.test_audit_ui import drifted_casino

SIZE = (120, 36)


def drawn(grid: DataTable[Any]) -> list[str]:
    """The table's lines as it draws them now (what a repaint would put on screen)."""
    return [grid.render_line(y).text.rstrip() for y in range(grid.size.height)]


async def drawn_after_idle(pilot: Pilot[Any], grid: DataTable[Any]) -> list[str]:
    """Let the table go idle (where Textual settles auto widths), then draw it."""
    await pilot.pause()
    await settle(pilot)
    return drawn(grid)


class TestAuditAccounts:
    """Audit mode's drifted accounts."""

    @drive
    async def test_accounts_drawn_early_are_not_cut(self, sqlite_database: Database) -> None:
        drifted_casino(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
            await pilot.press("f7")
            await pilot.press("a")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, AuditScreen)
            grid = screen.query_one("#audit-accounts", DataTable)
            screen._fill_accounts()  # what the audit's result does: refill the list…
            drawn(grid)  # …and a repaint lands before the table is idle
            lines = await drawn_after_idle(pilot, grid)
        text = "\n".join(lines)
        assert "Cy Drift" in text and "Ben Drift" in text, text
        header, first, second = lines[:3]
        assert header.split() == ["Player", "Cached", "Ledger", "Drift", "Class"]
        assert first.split() == ["Cy", "Drift", "100", "165", "-65", "minor"]
        assert second.split() == ["Ben", "Drift", "205", "165", "+40", "minor"]


class TestPlayerPicker:
    """The player picker's results."""

    @drive
    async def test_results_drawn_early_are_not_cut(self, sqlite_database: Database) -> None:
        world = build_casino(sqlite_database)
        boss = world.actor(StaffRole.PIT_BOSS)
        enrol(sqlite_database, boss, "Rita", "Hayworth", card="RH-1001")
        enrol(sqlite_database, boss, "Marguerite", "Hayworthington", card="RH-1002")
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("o")
            picker = app.screen
            assert isinstance(picker, PlayerPicker)
            await settle(pilot)
            found = players.search(sqlite_database.reader(boss), boss, "hay")
            assert len(found) == 2
            # What a search's result does (for the empty box here, so no search follows):
            # fill the list, its first rows…
            picker._show("", found)
            drawn(picker.results)  # …and a repaint lands before the table is idle
            lines = await drawn_after_idle(pilot, picker.results)
        text = "\n".join(lines)
        assert "Marguerite Hayworthington" in text, text
        assert "Rita Hayworth " in text, text
        assert "RH-1002" in text and "1970-05-17" in text, text


def auto_width_columns(app: PitApp) -> list[str]:
    """'#table-id: Column' for every column on the current screen that sizes itself."""
    return [
        f"#{grid.id}: {column.label.plain}"
        for grid in app.screen.query(DataTable)
        for column in grid.ordered_columns
        if column.auto_width
    ]


@pytest.mark.parametrize(
    "role", [StaffRole.ADMIN, StaffRole.PIT_BOSS, StaffRole.LOYALTY_MANAGER], ids=str
)
@drive
async def test_every_table_has_fixed_widths(sqlite_database: Database, role: StaffRole) -> None:
    """Every mode the role opens, and the floor's picker and compliance screen: no column
    is left to size itself."""
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    seen: dict[str, list[str]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, role)
        for spec in MODE_SPECS:
            if spec.allowed(role):
                await pilot.press(spec.key)
                await settle(pilot)
                seen[spec.name] = auto_width_columns(app)
        if role is StaffRole.PIT_BOSS:
            await pilot.press("f2", "o")  # the player picker
            seen["picker"] = auto_width_columns(app)
            await pilot.press("escape", "l")  # the compliance screen
            await settle(pilot)
            seen["compliance"] = auto_width_columns(app)
    assert len(seen) > 1
    assert {name: found for name, found in seen.items() if found} == {}


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        grid: DataTable[str] = DataTable()
        fixed_columns(grid, Col("Failed PINs", "failed", 3), Col("Code", "code", 8))
        yield grid


@drive
async def test_a_column_is_never_narrower_than_its_header() -> None:
    app = OneTable()
    async with app.run_test():
        grid = app.query_one(DataTable)
        assert [column.width for column in grid.ordered_columns] == [11, 8]
        assert not any(column.auto_width for column in grid.ordered_columns)


class FittingOne(App[None]):
    """A fitting table: a fixed column, a flexible name (16 → 8), a flexible note (30 → 10)."""

    def compose(self) -> ComposeResult:
        grid: FittingTable[str] = FittingTable()
        fixed_columns(
            grid,
            Col("Code", "code", 8),
            Col("Name", "name", 16, min_width=8),
            Col("Note", "note", 30, min_width=10),
        )
        for n in range(3):
            grid.add_row(f"C{n}", "Rita Hayworth", "a long note about the visit", key=str(n))
        yield grid


def widths(grid: DataTable[Any]) -> list[int]:
    return [column.width for column in grid.ordered_columns]


def overflow(grid: DataTable[Any]) -> int:
    """Cells the columns need beyond what the table shows (0: nothing scrolls sideways)."""
    need = sum(column.get_render_width(grid) for column in grid.ordered_columns)
    return max(0, need - grid.scrollable_content_region.width)


@drive
async def test_flexible_columns_give_way_in_proportion_and_take_it_back() -> None:
    """Wide enough: every column at its width. Narrower: the flexible ones give up what the
    table lacks, each in proportion to what it may give, never below its minimum, and the
    fixed one keeps its width. Wider again: back to their widths."""
    app = FittingOne()
    async with app.run_test(size=(80, 12)) as pilot:
        grid = app.query_one(FittingTable)
        await pilot.pause()
        assert widths(grid) == [8, 16, 30] and overflow(grid) == 0
        await pilot.resize_terminal(50, 12)
        await pilot.pause()
        # 60 cells of columns and padding in 50: 10 to give, by the name (8 of the 28 the
        # two may give: 2 cells) and the note (20 of 28: 7), the rounding's spare cell to
        # the first.
        assert widths(grid) == [8, 13, 23] and overflow(grid) == 0
        await pilot.resize_terminal(30, 12)
        await pilot.pause()
        assert widths(grid) == [8, 8, 10]  # both at their minimum: the rest scrolls
        assert overflow(grid) == 2  # 32 cells in 30
        await pilot.resize_terminal(100, 12)
        await pilot.pause()
        assert widths(grid) == [8, 16, 30] and overflow(grid) == 0


class FlexibleOnPlainTable(App[None]):
    def compose(self) -> ComposeResult:
        grid: DataTable[str] = DataTable()
        fixed_columns(grid, Col("Name", "name", 16, min_width=8))
        yield grid


@drive
async def test_a_flexible_column_needs_a_fitting_table() -> None:
    with pytest.raises(TypeError, match="FittingTable"):
        async with FlexibleOnPlainTable().run_test():
            pass


@drive
async def test_the_floor_fits_a_100_column_terminal(sqlite_database: Database) -> None:
    """At 100 columns the floor's three lists show every column: none scrolls sideways."""
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await settle(pilot)
        grids = list(app.screen.query(FittingTable))
        assert len(grids) == 3
        assert {str(grid.id): overflow(grid) for grid in grids} == {
            "floor-tables": 0,
            "floor-slips": 0,
            "floor-visits": 0,
        }
