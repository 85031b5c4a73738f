"""Reusable widgets over domain models."""

from pitterm.widgets.formatting import dollars, percent
from pitterm.widgets.mode_bar import ModeBar
from pitterm.widgets.status_header import StatusHeader

__all__ = ["ModeBar", "StatusHeader", "dollars", "percent"]
