"""Loyalty points on screen: a signed delta for ledger rows, and a balance badge."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from pitterm.widgets.play_format import points


def delta(value: int) -> str:
    """A ledger row's movement: '+1,250', '-300'."""
    return f"{value:+,}"


class PointsBadge(Static):
    """A balance, bold; marked ``-negative`` (error colour) when overdrawn."""

    DEFAULT_CSS = """
    PointsBadge {
        width: auto;
        padding: 0 1;
        background: $success-muted;
        color: $text-success;
        text-style: bold;
        &.-negative { background: $error-muted; color: $text-error; }
    }
    """

    balance: reactive[int | None] = reactive(None)
    """The points shown; None shows a dash (not loaded yet)."""

    def watch_balance(self, balance: int | None) -> None:
        self.update("—" if balance is None else points(balance))
        self.set_class(balance is not None and balance < 0, "-negative")
