"""The one-line header of the shell: where, who, which gaming day, which mode."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label

from pitterm.domain.auth import TerminalStatus


def describe_status(status: TerminalStatus | None) -> str:
    """'ALPHA Casino │ Pat Boss (Pit Boss) │ Gaming day Sat 21 Nov 2026'."""
    if status is None:
        return "Not signed in"
    parts = [
        status.casino.name,
        f"{status.staff_name} ({status.role.label})",
        f"Gaming day {status.gaming_day:%a %d %b %Y}",
    ]
    if status.assigned_table is not None:
        parts.append(f"Table {status.assigned_table}")
    return " │ ".join(parts)


class StatusHeader(Horizontal):
    """Casino, staff member and role, gaming day on the left; the mode on the right.

    In demo mode the training banner is the line below (pitterm.widgets.training_banner).
    """

    DEFAULT_CSS = """
    StatusHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
        #status-where { width: 1fr; padding: 0 1; text-style: bold; }
        #status-mode { padding: 0 1; background: $accent; color: $text; text-style: bold; }
    }
    """

    status: reactive[TerminalStatus | None] = reactive(None)
    """What the left side describes; None before sign-in."""
    mode_title: reactive[str] = reactive("")
    """The mode shown on the right."""

    def compose(self) -> ComposeResult:
        # Casino and staff names are typed by admins: shown as written, never as markup.
        yield Label(describe_status(self.status), id="status-where", markup=False)
        yield Label(self.mode_title, id="status-mode", markup=False)

    def watch_status(self, status: TerminalStatus | None) -> None:
        if self.is_mounted:
            self.query_one("#status-where", Label).update(describe_status(status))

    def watch_mode_title(self, title: str) -> None:
        if self.is_mounted:
            self.query_one("#status-mode", Label).update(title)
