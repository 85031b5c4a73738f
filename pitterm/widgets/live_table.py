"""A DataTable for lists that change a few cells at a time: the floor's live slips and visits.

Textual 8.2.8's DataTable keys its render caches on one counter that every ``update_cell``,
``add_row`` or ``remove_row`` bumps, so changing one cell formats and draws every visible
cell again (Rich renders each through padding and styles), and for each line it draws it
looks up styles and colours by walking the widget's ancestors. With the floor's clock ticking
the time played of 200 slips, that was most of a tick. ``LiveTable`` keeps

* each cell's rendering, and the renderable made of its value, until that cell's value (or
  its place, width or look) changes, so a tick draws only the cells that tick;
* the table's style, colours and column widths for the length of a frame, and puts a row's
  line together without DataTable's per-cell coordinate and width work (row cursor only);
* DataTable's own caches small, since what they hold is dead after the next change;

and it changes many cells with one redraw (``set_cells``) and brings a list up to date in
place (``sync_rows``): rows that went are removed, new rows added where they belong, and only
changed cells updated, so a refresh neither rebuilds nor re-measures 200 unchanged rows, and
the cursor stays on its row.

It reads and overrides DataTable internals (``_data``, ``_row_locations``,
``_column_locations``, ``_update_count``, ``_render_cell``, ``_render_line_in_row``, ...) of
the pinned Textual 8.2.8: tests/test_live_table.py checks, step by step, that it draws
exactly what a plain DataTable draws (a Textual upgrade that changes them fails there).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Self

from rich.segment import Segment
from rich.style import Style
from rich.text import Text, TextType
from textual.color import Color
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets._data_table import RowRenderables, default_cell_formatter
from textual.widgets.data_table import CellDoesNotExist, RowKey

from pitterm.widgets.columns import FittingTable

Cell = str | Text
"""What the floor puts in a cell: plain text (read as markup) or Rich Text (as written)."""

Lines = list[list[Segment]]
"""A rendered cell: its lines of Rich segments, as DataTable renders them."""


def same_cell(old: object, new: object) -> bool:
    """Whether two cell values draw the same (plain strings by value, Text by every attribute).

    Rich's own ``Text.__eq__`` ignores the base style, so it cannot tell "paused" in amber
    from "paused" in grey.
    """
    if old is new:
        return True
    if type(old) is not type(new):
        return False
    if isinstance(old, str):
        return old == new
    if isinstance(old, Text) and isinstance(new, Text):
        return (
            old.plain == new.plain
            and old.style == new.style
            and old.spans == new.spans
            and old.justify == new.justify
            and old.overflow == new.overflow
            and old.no_wrap == new.no_wrap
            and old.end == new.end
        )
    return False


class LiveTable(FittingTable[Cell]):
    """A DataTable that redraws only changed cells and updates its rows in place."""

    CELL_CACHE_SIZE = 10_000
    DATATABLE_CACHE_SIZE = 256
    """Entries kept in each of DataTable's own render caches (it keeps 1,000 to 10,000)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # DataTable's caches are keyed on its update counter, so what they hold from before
        # the last change is never used again: with a cell changing every second, they keep
        # some hundred thousand dead objects for Python's garbage collector to walk (a full
        # collection then took 200 ms). This table keeps its cells itself (below).
        for cache in (
            self._cell_render_cache,
            self._row_render_cache,
            self._line_cache,
            self._row_renderable_cache,
        ):
            cache.maxsize = self.DATATABLE_CACHE_SIZE
        self._cell_lines: dict[Hashable, tuple[object, Lines]] = {}
        """Each cell's rendering with the value it drew, by its place and look (emptied when
        it outgrows CELL_CACHE_SIZE: a look that changes leaves its entries behind)."""
        self._formatted: dict[tuple[RowKey, Hashable], tuple[object, int, Any]] = {}
        """Each cell's renderable with the value and row height it was made for."""
        self._look: tuple[Hashable, ...] | None = None
        """What every cell's look depends on besides its place, while a frame is drawn."""
        self._frame_style: Style | None = None
        """The table's style, while a frame is drawn."""
        self._frame_colors: tuple[Color, Color] | None = None
        """The table's background colours, while a frame is drawn."""
        self._frame_columns: list[int] | None = None
        """The columns' widths, in order, while a frame is drawn."""
        self._row_keys: dict[str, RowKey] = {}
        """Each row's key object by its text (a lookup by the object itself skips the
        Python-level comparison of a key with a string)."""

    # -- drawing ---------------------------------------------------------------------------

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> Lines:
        column_key = self._column_locations.get_key(column_index)
        if column_key is None:  # the row labels' column: the floor's tables have none
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if row_index < 0:
            row_key: RowKey | None = None
            height = self.header_height
            value: object = self.columns[column_key].label
        else:
            row_key = self._row_locations.get_key(row_index)
            if row_key is None:
                return super()._render_cell(
                    row_index, column_index, base_style, width, cursor, hover
                )
            height = self.rows[row_key].height
            value = self._data[row_key][column_key]
        look = self._look or self._current_look()
        key = (row_key, column_key, row_index, base_style, width, height, cursor, hover, look)
        cached = self._cell_lines.get(key)
        # The cached rendering holds on to the value it drew, so `is` cannot meet a new
        # object at a recycled address.
        if cached is not None and cached[0] is value:
            return cached[1]
        lines = self._plain_cell(row_index, column_index, base_style, width, cursor, hover)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._cell_lines) >= self.CELL_CACHE_SIZE:
            self._cell_lines.clear()
        self._cell_lines[key] = (value, lines)
        return lines

    def _plain_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> Lines | None:
        """A one-line cell of plain printable ASCII that fits, drawn without Rich's pipeline.

        What DataTable._render_cell gets from Rich for such a cell (a Text, without spans or
        style, padded and styled by ``Styled(Padding(...))``): the padding, the text, spaces
        to the column's width and the padding, every segment in the cell's style. None for
        any other cell (markup, emoji codes, wide or control characters, a style, a cell
        that is cut): DataTable draws those.
        """
        if row_index < 0 or row_index < self.fixed_rows:
            return None
        row_key = self._row_locations.get_key(row_index)
        if row_key is None or self.rows[row_key].height != 1:
            return None
        _, cells = self._get_row_renderables(row_index)
        cell = cells[column_index]
        if not isinstance(cell, Text) or cell.spans or cell.style or not cell.no_wrap:
            return None
        text = cell.plain
        padding = self.cell_padding
        fill = width - 2 * padding - len(text)
        if (
            not text
            or fill < 0
            or not text.isascii()
            or not text.isprintable()
            or cell.justify not in (None, "default", "left")
            or cell.overflow not in (None, "fold", "crop", "ellipsis")
        ):
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            column_index < self.fixed_columns,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        base_style += Style.from_meta({"row": row_index, "column": column_index})
        style = base_style + component_style  # the meta makes it a style, never null
        if post_style:
            style = style + post_style
        line = [Segment(" " * padding, style)] if padding else []
        line.append(Segment(text, style))
        if fill:
            line.append(Segment(" " * fill, style))
        if padding:
            line.append(Segment(" " * padding, style))
        return [line]

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[Lines, Lines]:
        """One line of a row: DataTable's, for a row cursor, no fixed columns and no labels.

        DataTable looks up the header's style, makes coordinates and measures every column
        twice for each line it draws; in a frame none of that changes, and for a row cursor a
        cell is under the cursor (or the mouse) when its row is.
        """
        widths = self._frame_columns
        if (
            widths is None
            or self.fixed_columns
            or (self._labelled_row_exists and self.show_row_labels)
            or self.cursor_type != "row"
        ):
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        found = self._row_locations.get(row_key)
        row_index = -1 if found is None else found  # -1: the header
        row_style = self._get_row_style(row_index, base_style)
        cursor = row_index == cursor_location.row
        hover = row_index == hover_location.row
        render_cell = self._render_cell
        scrollable_row = [
            render_cell(row_index, column_index, row_style, width, cursor, hover)[line_no]
            for column_index, width in enumerate(widths)
        ]
        # Styling out to the table's right edge, as DataTable does for a row cursor.
        remaining_space = max(0, self.size.width - sum(widths) - self._row_label_column_width)
        extend_style, _ = self._get_styles_to_render_cell(
            row_index == -1, False, False, hover, cursor, self.show_cursor,
            self._show_hover_cursor, False, False,
        )  # fmt: skip
        extend_style = row_style + extend_style
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable_row.append([Segment(" " * remaining_space, extend_style)])
        return [], scrollable_row

    def _compute_row_renderables(self, row_index: int) -> RowRenderables:
        """A row's cells as renderables, remade only for the cells whose value changed.

        DataTable formats a whole row (parsing every ``str`` cell as markup) whenever any
        cell of the table changed; the renderables are the same for the same value.
        """
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        row = self.rows.get(row_key) if row_key is not None else None
        if row_key is None or row is None or self._should_render_row_labels:
            return super()._compute_row_renderables(row_index)
        data = self._data[row_key]
        height = row.height
        cells: list[Any] = []
        for column in self.ordered_columns:
            value = data.get(column.key)
            memo = self._formatted.get((row_key, column.key))
            if memo is not None and memo[0] is value and memo[1] == height:
                cells.append(memo[2])
                continue
            # What DataTable._compute_row_renderables makes of a value.
            renderable = (
                None
                if value is None
                else default_cell_formatter(value, wrap=height != 1, height=height)
            ) or Text(no_wrap=True, end="")
            self._formatted[(row_key, column.key)] = (value, height, renderable)
            cells.append(renderable)
        return RowRenderables(None, cells)

    def _current_look(self) -> tuple[Hashable, ...]:
        return (
            self.show_cursor,
            self.cursor_type,
            self._show_hover_cursor,
            self.cursor_foreground_priority,
            self.cursor_background_priority,
            self.fixed_rows,
            self.fixed_columns,
            self.cell_padding,
            self._pseudo_class_state,
        )

    @property
    def rich_style(self) -> Style:
        """The table's style (its colours over its ancestors'), read once per frame.

        DataTable reads it for every line it draws, and each read walks every ancestor's
        styles; nothing it depends on changes while a frame is drawn.
        """
        style = self._frame_style
        return super().rich_style if style is None else style

    @property
    def background_colors(self) -> tuple[Color, Color]:
        """The table's background colours, read once per frame (as ``rich_style``)."""
        colors = self._frame_colors
        return super().background_colors if colors is None else colors

    def render_lines(self, crop: Region) -> list[Strip]:
        # DataTable.render_lines takes the pseudo-classes (focus, hover) for the frame; the
        # rest of the look cannot change while it draws either, so it is read once, not per
        # cell or line.
        self._pseudo_class_state = self.get_pseudo_class_state()
        self._look = self._current_look()
        self._frame_style = super().rich_style
        self._frame_colors = super().background_colors
        self._frame_columns = [column.get_render_width(self) for column in self.ordered_columns]
        try:
            return super().render_lines(crop)
        finally:
            self._look = None
            self._frame_style = None
            self._frame_colors = None
            self._frame_columns = None

    def notify_style_update(self) -> None:
        self._cell_lines.clear()  # a theme or CSS change restyles every cell
        super().notify_style_update()

    # -- changing cells and rows -----------------------------------------------------------

    def set_cell(self, row_key: str, column_key: str, value: Cell) -> bool:
        """Show ``value`` in a cell unless it already shows the same; True if it changed.

        Raises:
            CellDoesNotExist: there is no such row or column.
        """
        return self.set_cells([(row_key, column_key, value)]) > 0

    def set_cells(self, cells: Iterable[tuple[str, str, Cell]]) -> int:
        """Show each value in its cell (row key, column key) unless it shows the same already.

        One redraw for them all, where ``update_cell`` asks one per cell; returns how many
        cells changed. Like ``update_cell`` without ``update_width``, it keeps the columns'
        widths (the floor's columns have fixed widths).

        Raises:
            CellDoesNotExist: there is no such row or column (the cells before it change).
        """
        data = self._data
        rows = self._row_keys
        columns = {str(key.value): key for key in self.columns}
        changed = 0
        try:
            for row_key, column_key, value in cells:
                row = rows.get(row_key)
                column = columns.get(column_key)
                if row is None or column is None:
                    raise CellDoesNotExist(
                        f"No cell exists for row_key={row_key!r}, column_key={column_key!r}."
                    )
                shown = data[row]
                old = shown[column]
                if old is not value and not same_cell(old, value):
                    shown[column] = value
                    changed += 1
        finally:
            if changed:  # what update_cell does after storing a value, once for them all
                self._update_count += 1
                self.refresh()
        return changed

    def add_row(
        self,
        *cells: Cell,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        if row_key.value is not None:
            self._row_keys[row_key.value] = row_key
        return row_key

    def remove_row(self, row_key: RowKey | str) -> None:
        super().remove_row(row_key)
        key = RowKey(row_key) if isinstance(row_key, str) else row_key
        if key.value is not None:
            self._row_keys.pop(key.value, None)
        for column_key in self.columns:
            self._formatted.pop((key, column_key), None)

    def clear(self, columns: bool = False) -> Self:
        self._formatted.clear()
        self._cell_lines.clear()
        self._row_keys.clear()
        return super().clear(columns)

    def row_keys(self) -> list[str]:
        """The rows' keys, top to bottom."""
        return [str(row.key.value) for row in self.ordered_rows]

    def sync_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Show exactly ``rows`` (key and cells, in order), changing only what differs.

        Rows no longer listed are removed, new rows added in their place, and each kept
        row's changed cells updated. The cursor stays on the row it was on; if that row is
        gone it goes to the first row (where a cleared and refilled table puts it).
        """
        wanted = [key for key, _ in rows]
        if len(set(wanted)) != len(wanted):
            raise ValueError("sync_rows: two rows share a key")
        selected = self._cursor_key()
        keep = set(wanted)
        for key in self.row_keys():
            if key not in keep:
                self.remove_row(key)
        columns = [str(column.key.value) for column in self.ordered_columns]
        changes: list[tuple[str, str, Cell]] = []
        for key, cells in rows:
            if key in self._row_keys:
                changes.extend(zip([key] * len(cells), columns, cells, strict=True))
            else:
                self.add_row(*cells, key=key)
        self.set_cells(changes)
        if self.row_keys() != wanted:
            self._reorder(wanted)
        self._put_cursor(selected)

    def _reorder(self, wanted: list[str]) -> None:
        """Put the rows in the order of ``wanted`` (every row's key, once each)."""
        position = {key: index for index, key in enumerate(wanted)}
        # DataTable.sort hands its key function a row's values, not its key, in the order the
        # rows were added, which is the order of `self.rows`: pair them up by that order.
        order = iter([position[str(key.value)] for key in self.rows])
        self.sort(key=lambda _values: next(order))
        if self.row_keys() != wanted:  # a DataTable that sorts otherwise: rebuild the rows
            cells = {key: self.get_row(key) for key in wanted}
            self.clear()
            for key in wanted:
                self.add_row(*cells[key], key=key)

    def _cursor_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return str(row_key.value)

    def _put_cursor(self, key: str | None) -> None:
        """The cursor on row ``key``; the first row if there is no such row any more."""
        if self.row_count == 0:
            return
        index = self.get_row_index(key) if key is not None and key in self._row_keys else 0
        if index != self.cursor_row:
            self.move_cursor(row=index)
