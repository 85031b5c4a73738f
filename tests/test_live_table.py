"""LiveTable: draws exactly what a DataTable draws, redraws only changed cells, syncs in place.

The floor's lists (pitterm/widgets/live_table.py) keep each cell's rendering until the cell
changes and reuse a frame's colours; a cache that missed a change would show a stale figure,
so every step below is drawn by a LiveTable and by a plain DataTable given the same content
(the DataTable rebuilt the old way, cleared and refilled), and the two screens must be
identical: cells changed, the cursor moved, focus, the mouse over a row, a theme change, a
resize, rows removed, inserted and reordered. Plain cells, which LiveTable draws itself, are
also compared segment for segment with what Rich makes of them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from pitterm.widgets.columns import Col, fixed_columns
from pitterm.widgets.literal import literal
from pitterm.widgets.live_table import Cell, LiveTable, same_cell
from tests.test_app_shell import drive

SIZE = (60, 12)
COLUMNS = (Col("Who", "who", 12), Col("Played", "played", 8), Col("Note", "note", 16))

Rows = list[tuple[str, list[Cell]]]


def amber(text: str) -> Text:
    return Text(text, style=Style(color="#ffa62b", bold=True))


def rows_of(*keys: str, played: str = "0:00:01") -> Rows:
    return [
        (
            key,
            [literal(f"Patron {key}"), played, "[b]bold[/b]" if key == "b" else amber("in play")],
        )
        for key in keys
    ]


class TableApp(App[None]):
    def __init__(self, table: type[DataTable[Any]]) -> None:
        super().__init__()
        self.table_class = table
        self.pilot: Pilot[None] | None = None

    def compose(self) -> ComposeResult:
        table = self.table_class(id="t", cursor_type="row")
        fixed_columns(table, *COLUMNS)
        yield table

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#t", DataTable)

    async def hover(self, x: int, y: int) -> None:
        assert self.pilot is not None
        await self.pilot.hover("#t", offset=(x, y))

    async def resize(
        self,
        width: int,
        height: int,
        then: tuple[DataTable[Any], tuple[str, str, Cell]] | None = None,
    ) -> None:
        assert self.pilot is not None
        await self.pilot.resize_terminal(width, height)
        if then is not None:
            await self.pilot.pause()
            table, cell = then
            change(table, [cell])


def show(table: DataTable[Any], rows: Rows) -> None:
    """The rows, in order, keeping the cursor on its row (else the first): in place on a
    LiveTable, cleared and refilled on a DataTable (where the mouse's row, which clear()
    sends to the top, is put back: the mouse has not moved)."""
    if isinstance(table, LiveTable):
        table.sync_rows(rows)
        return
    selected = (
        table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if table.row_count
        else None
    )
    hover = table.hover_coordinate
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    keys = [key for key, _ in rows]
    if selected in keys:
        table.move_cursor(row=keys.index(selected))
    table.hover_coordinate = hover


def change(table: DataTable[Any], cells: Sequence[tuple[str, str, Cell]]) -> None:
    if isinstance(table, LiveTable):
        table.set_cells(cells)
    else:
        for row, column, value in cells:
            table.update_cell(row, column, value)


Step = Callable[[TableApp, DataTable[Any]], Any]

STEPS: list[tuple[str, Step]] = [
    ("rows", lambda app, t: show(t, rows_of("a", "b", "c", "d"))),
    ("a tick", lambda app, t: change(t, [("a", "played", "0:00:02"), ("c", "played", "0:00:09")])),
    ("the same again", lambda app, t: change(t, [("a", "played", "0:00:02")])),
    ("paused, same words", lambda app, t: change(t, [("c", "note", amber("paused"))])),
    ("restyled", lambda app, t: change(t, [("c", "note", Text("paused", style="dim"))])),
    ("focus", lambda app, t: t.focus()),
    ("cursor", lambda app, t: t.move_cursor(row=2)),
    ("tick on the cursor row", lambda app, t: change(t, [("c", "played", "0:01:00")])),
    ("row above removed", lambda app, t: show(t, rows_of("b", "c", "d", played="0:01:00"))),
    ("rows inserted", lambda app, t: show(t, rows_of("a", "b", "e", "c", "f", "d"))),
    ("reordered", lambda app, t: show(t, rows_of("f", "e", "d", "c", "b", "a"))),
    ("cursor row gone", lambda app, t: show(t, rows_of("f", "e", "d", "b", "a"))),
    ("theme", lambda app, t: setattr(app, "theme", "textual-light")),
    ("tick after the theme", lambda app, t: change(t, [("e", "played", "0:02:00")])),
    ("narrower", lambda app, t: app.resize(36, 10)),
    ("tick when narrow", lambda app, t: change(t, [("e", "played", "0:03:00")])),
    # A DataTable keeps the lines it drew narrow until a cell changes (its row cache does not
    # know the width): LiveTable is compared from that change on.
    ("wider, then a tick", lambda app, t: app.resize(*SIZE, then=(t, ("e", "played", "0:04:00")))),
    ("mouse over a row", lambda app, t: app.hover(3, 2)),
    ("mouse over the header", lambda app, t: app.hover(3, 0)),
    ("mouse away", lambda app, t: app.hover(50, 2)),
    ("blur", lambda app, t: app.set_focus(None)),
    ("many rows", lambda app, t: show(t, rows_of(*[f"r{n:02}" for n in range(30)]))),
    ("scrolled", lambda app, t: t.move_cursor(row=25)),
    ("tick while scrolled", lambda app, t: change(t, [("r24", "played", "9:59:59")])),
    ("empty", lambda app, t: show(t, [])),
]


async def screens(table: type[DataTable[Any]]) -> list[str]:
    """The screen after each step, as an SVG screenshot."""
    app = TableApp(table)
    shots = []
    async with app.run_test(size=SIZE) as pilot:
        app.pilot = pilot
        await pilot.pause()
        for name, step in STEPS:
            done = step(app, app.table)
            if inspect.isawaitable(done):
                await done
            await pilot.pause()
            shots.append(f"{name}\n{app.export_screenshot()}")
    return shots


@drive
async def test_draws_what_a_datatable_draws_at_every_step() -> None:
    live = await screens(LiveTable)
    plain = await screens(DataTable)
    for ours, theirs in zip(live, plain, strict=True):
        assert ours == theirs, ours.splitlines()[0]


@drive
async def test_a_changed_cell_is_the_only_cell_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    app = TableApp(LiveTable)
    drawn: list[tuple[int, int]] = []
    original = LiveTable._plain_cell  # where a cell not kept is drawn (or handed to Rich)

    def counting(self: LiveTable, row: int, column: int, *args: Any) -> Any:
        drawn.append((row, column))
        return original(self, row, column, *args)

    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        assert isinstance(table, LiveTable)
        table.sync_rows(rows_of("a", "b", "c", "d"))
        await pilot.pause()
        monkeypatch.setattr(LiveTable, "_plain_cell", counting)
        assert table.set_cells([("b", "played", "0:00:05"), ("c", "played", "0:00:01")]) == 1
        await pilot.pause()
        monkeypatch.undo()
    assert drawn == [(1, 1)]  # row b, the played column: nothing else was rendered again


@drive
async def test_sync_keeps_the_cursor_on_its_row_and_touches_only_changes() -> None:
    app = TableApp(LiveTable)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        assert isinstance(table, LiveTable)
        table.sync_rows(rows_of("a", "b", "c"))
        table.move_cursor(row=1)  # on b
        kept = table.get_row("c")
        table.sync_rows(
            [("x", [literal("Patron x"), "0:00:00", "new"]), *rows_of("a", "b"), *rows_of("c")]
        )
        await pilot.pause()
        assert table.row_keys() == ["x", "a", "b", "c"]
        assert table.cursor_row == 2  # still on b, now a row lower
        # Row c came again as new but equal values: its cells were left as they were.
        assert all(a is b for a, b in zip(table.get_row("c"), kept, strict=True))
        untouched = table.get_row("a")
        table.sync_rows([*rows_of("a"), ("b", [literal("Patron b"), "0:00:07", "x"])])
        assert table.row_keys() == ["a", "b"] and table.cursor_row == 1
        assert all(a is b for a, b in zip(table.get_row("a"), untouched, strict=True))
        assert [str(v) for v in table.get_row("b")] == ["Patron b", "0:00:07", "x"]
        table.sync_rows(rows_of("a", "c"))  # the cursor's row went: the first row, as clear()
        assert table.cursor_row == 0
        with pytest.raises(ValueError, match="share a key"):
            table.sync_rows(rows_of("a", "a"))


@drive
async def test_set_cells_counts_changes_and_refuses_unknown_cells() -> None:
    app = TableApp(LiveTable)
    async with app.run_test(size=SIZE):
        table = app.table
        assert isinstance(table, LiveTable)
        table.sync_rows(rows_of("a"))
        assert table.set_cells([("a", "played", "0:00:01")]) == 0
        assert table.set_cell("a", "played", "0:00:02") is True
        assert table.get_cell("a", "played") == "0:00:02"
        with pytest.raises(CellDoesNotExist):
            table.set_cell("zz", "played", "1")
        with pytest.raises(CellDoesNotExist):
            table.set_cell("a", "nope", "1")


def test_same_cell_sees_style_not_only_words() -> None:
    assert same_cell("1,050", "1,050")
    assert not same_cell("1,050", "1,051")
    assert not same_cell("x", literal("x"))  # markup-read str vs literal Text
    assert same_cell(amber("paused"), amber("paused"))
    assert not same_cell(amber("paused"), Text("paused", style="dim"))
    assert not same_cell(literal("a"), Text("a"))  # no_wrap and end differ


PLAIN = ["0:12:03", "$1,234.56", "1,050", "5 min", "x", "a b  c", "12345678", "12345678901"]
"""Cells of plain printable ASCII: drawn by LiveTable itself when they fit."""
OTHERS: list[Cell] = [
    "123456789012345678",  # cut to the column: Rich's
    ":smile:",  # an emoji code, read as markup
    "[b]x[/b]",
    "é",
    "日本",
    "",
    "tab\there",
    amber("in play"),
    Text("dim", style="dim"),
    Text("right", justify="right"),
]


@drive
async def test_plain_cells_are_drawn_segment_for_segment_as_rich_draws_them() -> None:
    values: list[Cell] = [*PLAIN, literal("Patron 7"), *OTHERS]
    app = TableApp(LiveTable)
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.table
        assert isinstance(table, LiveTable)
        table.sync_rows([(f"r{i}", [value, value, value]) for i, value in enumerate(values)])
        table.focus()
        await pilot.pause()
        drawn_here: set[str] = set()
        for row, value in enumerate(values):
            for column, spec in enumerate(table.ordered_columns):
                width = spec.get_render_width(table)
                for cursor, hover, show_hover in [
                    (False, False, False),
                    (True, False, False),
                    (False, True, True),
                    (True, True, True),
                ]:
                    table._show_hover_cursor = show_hover
                    for style in (Style(), Style(color="#ff0000", bgcolor="#000000", bold=True)):
                        ours = table._plain_cell(row, column, style, width, cursor, hover)
                        if ours is None:
                            continue
                        theirs = DataTable._render_cell(
                            table, row, column, style, width, cursor, hover
                        )
                        assert ours == theirs, (value, column, cursor, hover, style)
                        drawn_here.add(str(value))
    # Every plain value that fits its column somewhere was drawn here, nothing else was.
    assert drawn_here == {*PLAIN, "Patron 7"}
