"""Table columns at fixed widths, so a table looks the same whenever its rows arrive.

Textual 8.2.8's DataTable sizes a column added without a width to its widest cell only after
the rows are added, and that does not redraw what was already drawn for normal-height rows:
a repaint in between leaves every column cut to its header's width ('Edward 16,427 +4,75
mater') until something else redraws the table. A column given its width never changes
width, so there is nothing to go stale.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rich.cells import cell_len
from textual.widgets import DataTable


class Col(NamedTuple):
    """One column: its header, its key, and its width in cells (a longer cell is cut)."""

    label: str
    key: str
    width: int


def fixed_columns(table: DataTable[Any], *columns: Col) -> None:
    """Add `columns` to `table` in order, each at its width (never narrower than its header)."""
    for column in columns:
        width = max(column.width, cell_len(column.label))
        table.add_column(column.label, key=column.key, width=width)
