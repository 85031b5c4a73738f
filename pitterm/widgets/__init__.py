"""Reusable widgets over domain models."""

from pitterm.widgets.formatting import dollars, percent
from pitterm.widgets.literal import literal
from pitterm.widgets.mode_bar import ModeBar
from pitterm.widgets.money_input import MoneyInput, parse_dollars
from pitterm.widgets.status_header import StatusHeader

__all__ = [
    "ModeBar",
    "MoneyInput",
    "StatusHeader",
    "dollars",
    "literal",
    "parse_dollars",
    "percent",
]
