"""Table columns at set widths, so a table looks the same whenever its rows arrive.

Textual 8.2.8's DataTable sizes a column added without a width to its widest cell only after
the rows are added, and that does not redraw what was already drawn for normal-height rows:
a repaint in between leaves every column cut to its header's width ('Edward 16,427 +4,75
mater') until something else redraws the table. A column given its width never changes
width on its own, so there is nothing to go stale.

A column may also give a narrower ``min_width``: in a ``FittingTable`` too narrow for every
column at its width (a 100-column terminal), such columns give up cells, each in proportion
to what it can spare, down to their minimum, rather than pushing the table's last columns
out of sight behind a sideways scroll; they take them back as the table widens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, Self, TypeVar

from rich.cells import cell_len
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

CellType = TypeVar("CellType")


class Col(NamedTuple):
    """One column: its header, its key, its width in cells (a longer cell is cut), and how
    narrow it may become when the table lacks room (None: never narrower)."""

    label: str
    key: str
    width: int
    min_width: int | None = None


class FittingTable(DataTable[CellType]):
    """A DataTable whose flexible columns (``Col.min_width``) narrow to fit its width."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flexible: dict[ColumnKey, tuple[int, int]] = {}
        """Each flexible column's (narrowest, widest) width."""

    def clear(self, columns: bool = False) -> Self:
        if columns:
            self.flexible.clear()
        return super().clear(columns)

    def _on_resize(self, event: events.Resize) -> None:
        super()._on_resize(event)
        self.fit_columns()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable's own step after rows or columns change (Textual 8.2.8): rows may have
        # brought the vertical scrollbar, which takes room without resizing the table.
        super()._update_dimensions(new_rows)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Narrow the flexible columns until every column fits, or widen them back, each in
        proportion to the room it has to give (or take back)."""
        region = self.content_region
        room = region.width
        if self.virtual_size.height > region.height:  # the rows need the vertical scrollbar
            room -= self.styles.scrollbar_size_vertical
        if not self.flexible or room <= 0:
            return
        excess = sum(column.get_render_width(self) for column in self.columns.values()) - room
        sign = 1 if excess > 0 else -1
        slack = {
            key: (column.width - narrowest) if sign > 0 else (widest - column.width)
            for key, (narrowest, widest) in self.flexible.items()
            if (column := self.columns.get(key)) is not None
        }
        total = sum(slack.values())
        moved = min(abs(excess), total)
        if moved == 0:
            return
        shares = {key: moved * free // total for key, free in slack.items()}
        for key, free in slack.items():  # what rounding left: a cell each, in column order
            if sum(shares.values()) == moved:
                break
            if shares[key] < free:
                shares[key] += 1
        for key, share in shares.items():
            self.columns[key].width -= sign * share
        # What DataTable itself does when a column changes: new dimensions, and every
        # cached rendering (keyed on the update count) is stale.
        self._require_update_dimensions = True
        self._update_count += 1
        self.refresh()


def fixed_columns(table: DataTable[Any], *columns: Col) -> None:
    """Add `columns` to `table` in order, each at its width (never narrower than its header);
    a column with a ``min_width`` needs a ``FittingTable``, which fits it to the table's
    width (never narrower than the header either)."""
    for column in columns:
        width = max(column.width, cell_len(column.label))
        key = table.add_column(column.label, key=column.key, width=width)
        if column.min_width is None:
            continue
        if not isinstance(table, FittingTable):
            raise TypeError(f"column {column.key!r} is flexible; its table must be a FittingTable")
        table.flexible[key] = (max(column.min_width, cell_len(column.label)), width)
    if isinstance(table, FittingTable):
        table.fit_columns()
