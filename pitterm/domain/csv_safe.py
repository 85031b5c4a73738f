"""CSV export cells that a spreadsheet will not execute (formula-injection neutralised)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text, prefixed with an apostrophe when a spreadsheet would read a formula.

    Numbers are left alone (a negative points delta stays a number); text that merely starts
    with a sign or other trigger character is quoted.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(_DANGEROUS_STARTS):
        return "'" + text
    return text


def write_rows(header: Sequence[str] | None, rows: Iterable[Sequence[object]]) -> str:
    """CSV text (header first, if given) with every cell passed through ``safe_cell``."""
    buffer = io.StringIO()
    # CRLF rows (RFC 4180). With a bare "\n" terminator the writer leaves a cell holding "\r"
    # unquoted, and a spreadsheet splits the row there: "x\r=cmd()" would start a new line
    # with a live formula. Every character of the terminator forces quoting.
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
