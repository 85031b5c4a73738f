"""The row of modes above the footer: each mode this staff member may open, with its key."""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

MODE_PREFIX = "mode."
"""Bindings whose id starts with this switch modes; the bar shows those the screen enables."""


class ModeBar(Static):
    """'Modes  F2 Floor  F3 Player …' with the current mode highlighted.

    It shows the enabled bindings whose id starts with ``mode.``, so a mode hidden from a
    role by ``check_action`` is hidden here too.
    """

    DEFAULT_CSS = """
    ModeBar {
        height: 1;
        width: 100%;
        background: $panel;
        color: $foreground-muted;
        padding: 0 1;
    }
    """

    def __init__(self, current: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = current
        """The mode name (as in the binding id ``mode.NAME``) to highlight."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.show_modes()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        self.show_modes()

    def show_modes(self) -> None:
        parts: list[Content] = [Content.styled("Modes", "bold")]
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not (binding.id or "").startswith(MODE_PREFIX):
                continue
            key = self.app.get_key_display(binding).upper()
            here = binding.id == f"{MODE_PREFIX}{self.current}"
            item = Content.assemble((key, "bold $text-accent"), " ", binding.description)
            parts.append(item.stylize("reverse") if here else item)
        self.update(Content("  ").join(parts))
