"""Floor mode: the casino's tables, filterable by pit and game. A dealer sees only its table."""

from __future__ import annotations

from typing import TypeVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from pitterm.domain import floor
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.enums import GameType, StaffRole
from pitterm.domain.floor import TableView
from pitterm.screens.base import ModeScreen
from pitterm.widgets.formatting import dollars, percent

T = TypeVar("T")

FILTER_ACTIONS = frozenset({"next_pit", "next_game", "clear_filters"})


class FloorScreen(ModeScreen):
    """The tables: label, pit, game, seats, house edge, bet limits and status."""

    MODE_NAME = "floor"
    MODE_TITLE = "Floor"

    BINDINGS = [
        Binding(
            "p",
            "next_pit",
            "Filter by pit",
            id="floor.filter_pit",
            tooltip="Show one pit at a time; press again for the next pit, then all pits.",
        ),
        Binding(
            "g",
            "next_game",
            "Filter by game",
            id="floor.filter_game",
            tooltip="Show one game type at a time; press again for the next, then all games.",
        ),
        Binding(
            "x",
            "clear_filters",
            "Clear filters",
            id="floor.clear_filters",
            tooltip="Show every table again.",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="floor.refresh",
            tooltip="Read the tables again from the database.",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pit: str | None = None
        """The pit shown, or None for every pit."""
        self.game_type: GameType | None = None
        """The game type shown, or None for every game."""
        self._pits: list[str] = []
        self._game_types: list[GameType] = []

    def compose_body(self) -> ComposeResult:
        yield Static("", id="floor-filters")
        table: DataTable[str] = DataTable(id="floor-tables", cursor_type="row", zebra_stripes=True)
        table.add_column("Table", key="label")
        table.add_column("Pit", key="pit")
        table.add_column("Game", key="game")
        table.add_column("Seats", key="seats")
        table.add_column("House edge", key="edge")
        table.add_column("Min bet", key="min")
        table.add_column("Max bet", key="max")
        table.add_column("Status", key="status")
        yield table
        yield Static("", id="floor-empty")

    def on_screen_resume(self) -> None:
        self.reload(options=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in FILTER_ACTIONS:
            actor = self.session.actor
            # A dealer sees one table: there is nothing to filter.
            return actor is not None and actor.role is not StaffRole.DEALER
        return True

    def action_next_pit(self) -> None:
        self.pit = _next(self._pits, self.pit)
        self.reload()

    def action_next_game(self) -> None:
        self.game_type = _next(self._game_types, self.game_type)
        self.reload()

    def action_clear_filters(self) -> None:
        self.pit = None
        self.game_type = None
        self.reload()

    def action_refresh(self) -> None:
        self.reload(options=True)

    def reload(self, *, options: bool = False) -> None:
        """Read the tables for the current filters (and, with `options`, the filter choices)."""
        if self.session.actor is None:
            return
        self._show_filters()
        self.load_tables(
            self.session.database,
            self.session.actor,
            self.pit,
            self.game_type,
            options=options,
        )

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="floor-tables",
        description="Read the floor's tables",
    )
    def load_tables(
        self,
        database: Database,
        actor: Actor,
        pit: str | None,
        game_type: GameType | None,
        *,
        options: bool,
    ) -> None:
        choices = floor.list_tables(database.reader(actor), actor) if options else None
        if choices is not None and pit is None and game_type is None:
            tables = choices
        else:
            tables = floor.list_tables(database.reader(actor), actor, pit=pit, game_type=game_type)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_tables, tables, choices)

    def _show_tables(self, tables: list[TableView], choices: list[TableView] | None) -> None:
        if choices is not None:
            self._pits = sorted({t.pit for t in choices})
            self._game_types = sorted({t.game_type for t in choices}, key=list(GameType).index)
        grid = self.query_one("#floor-tables", DataTable)
        selected = _selected_key(grid)
        grid.clear()
        for table in tables:
            grid.add_row(
                table.label,
                table.pit,
                table.game_name,
                str(table.seats),
                percent(table.house_edge),
                dollars(table.min_bet_cents),
                dollars(table.max_bet_cents),
                table.status.value,
                key=str(table.id),
            )
        if selected is not None and selected in {str(t.id) for t in tables}:
            grid.move_cursor(row=grid.get_row_index(selected))
        self._show_filters(len(tables))
        empty = self.query_one("#floor-empty", Static)
        empty.update(self._empty_text() if not tables else "")
        empty.display = not tables

    def _show_filters(self, count: int | None = None) -> None:
        pit = self.pit or "all pits"
        game = self.game_type.value.title() if self.game_type else "all games"
        counted = "" if count is None else f" │ {count} table{'s' if count != 1 else ''}"
        self.query_one("#floor-filters", Static).update(f"Showing {pit} │ {game}{counted}")

    def _empty_text(self) -> str:
        actor = self.session.actor
        if actor is not None and actor.role is StaffRole.DEALER:
            return "You are not assigned to a table. Ask your floor supervisor."
        if self.pit or self.game_type:
            return "No table matches these filters. Press x to clear them."
        return "This casino has no tables yet."


def _next(choices: list[T], current: T | None) -> T | None:
    """The choice after `current`, cycling through None (meaning 'all')."""
    if not choices:
        return None
    if current is None or current not in choices:
        return choices[0]
    index = choices.index(current) + 1
    return choices[index] if index < len(choices) else None


def _selected_key(grid: DataTable[str]) -> str | None:
    if grid.row_count == 0:
        return None
    return grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
