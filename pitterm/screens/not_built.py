"""The base screen of a mode this version of pitterm does not have yet: says so, plainly."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from pitterm.screens.base import ModeScreen


class NotBuiltScreen(ModeScreen):
    """A mode that exists in the design but is not built in this version."""

    def __init__(self, name: str, title: str, purpose: str) -> None:
        super().__init__()
        self._mode_name = name
        self._mode_title = title
        self.purpose = purpose

    @property
    def mode_name(self) -> str:
        return self._mode_name

    @property
    def mode_title(self) -> str:
        return self._mode_title

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="not-built"):
            yield Static(
                f"{self.mode_title} mode is not built yet in this version of pitterm.",
                classes="not-built-title",
            )
            yield Static(f"It will hold: {self.purpose}.", classes="not-built-purpose")
