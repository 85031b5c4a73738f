"""F1 help: the current screen's jobs in a few sentences, and its keys as the role has them.

The keys are read from the screen's live bindings, after ``check_action`` has had its say,
so the list is the one the footer and the command palette show: it cannot drift from what
the keys do, and a key the role may not use is not listed. The same reading feeds the
command palette (``screen_actions``).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Label, Static

from pitterm.screens.base import PitModal

FUNCTION_KEY = re.compile(r"f\d{1,2}")

NO_HELP = "There is no description of this screen yet; its keys are below."


@dataclass(frozen=True)
class ScreenAction:
    """One thing the signed-in role can do on a screen, with every key that does it."""

    category: str
    """The binding id's prefix: 'floor', 'mode', 'session', 'app', …"""
    keys: tuple[str, ...]
    """How the keys are shown ('F1', '?', '^t')."""
    description: str
    """The footer's short name for it."""
    tooltip: str
    """What it does, in a sentence."""
    action: str
    namespace: DOMNode
    """Where the action runs (the screen, or the App for modes and session keys)."""
    enabled: bool
    """False when the role may do it but not right now (nothing chosen yet, say)."""

    @property
    def title(self) -> str:
        """The command palette's entry: 'floor: Start slip'."""
        return f"{self.category}: {self.description}"


def screen_actions(screen: Screen[Any]) -> list[ScreenAction]:
    """The actions a screen offers its signed-in role, one per action, in binding order.

    Only pitterm's own bindings count (each has an id ``category.name``); Textual's focus,
    cursor and copy keys are the widgets' business. An action whose ``check_action`` says
    False (the role lacks the capability, or the screen hides it) is not in the screen's
    active bindings at all; one that says None is here, disabled.
    """
    app = screen.app
    grouped: dict[tuple[int, str], list[ActiveBinding]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system or not binding.id or "." not in binding.id:
            continue
        grouped.setdefault((id(active.node), binding.action), []).append(active)
    actions: list[ScreenAction] = []
    for group in grouped.values():
        first = group[0]
        keys: list[str] = []
        for active in group:
            shown = app.get_key_display(active.binding)
            shown = shown.upper() if FUNCTION_KEY.fullmatch(shown) else shown  # F3, as the mode bar
            if shown not in keys:
                keys.append(shown)
        actions.append(
            ScreenAction(
                category=(first.binding.id or "").partition(".")[0],
                keys=tuple(keys),
                description=first.binding.description,
                tooltip=first.binding.tooltip or first.binding.description,
                action=first.binding.action,
                namespace=first.node,
                enabled=any(active.enabled for active in group),
            )
        )
    return actions


def help_text(screen: Screen[Any]) -> str:
    """The screen's HELP, its paragraphs (blank-line separated) each run into one line."""
    text = inspect.cleandoc(type(screen).HELP or "")
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]
    return "\n\n".join(paragraphs) or NO_HELP


def help_title(screen: Screen[Any]) -> str:
    title = getattr(screen, "help_title", None)
    return str(title()) if callable(title) else type(screen).__name__


def keys_table(actions: list[ScreenAction]) -> Table:
    """Key | what it does; an action that cannot be taken right now is dimmed and says so."""
    table = Table.grid(padding=(0, 2))
    table.add_column("Key", no_wrap=True, style="bold")
    table.add_column("What it does", ratio=1)
    for entry in actions:
        keys = " / ".join(entry.keys)
        does = Text.assemble((entry.description, "bold"), " — ", entry.tooltip)
        if not entry.enabled:
            does.append(" (not available right now)")
            does.stylize("dim")
            table.add_row(Text(keys, style="dim"), does)
        else:
            table.add_row(keys, does)
    return table


class HelpScreen(PitModal[None]):
    """Help for the screen beneath: what it is for, then its keys. Escape (or F1) closes."""

    HELP = """
    Help for the screen you were on: first what it is for, then every key you may use there.
    Keys your role may not use are not listed; a dimmed key is yours but needs something
    first (a player, a highlighted row). Up/Down or PgUp/PgDn scroll; Escape or F1 closes.
    """

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        #help-dialog {
            width: 90%;
            max-width: 110;
            height: 90%;
            padding: 1 2;
            border: thick $primary;
            background: $surface;
        }
        #help-title { text-style: bold; color: $text-primary; margin-bottom: 1; }
        #help-scroll { height: 1fr; }
        #help-about { margin-bottom: 1; }
        #help-keys-title { text-style: bold; }
        #help-hint { color: $text-muted; margin-top: 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close help", id="help.close", tooltip="Close this help."),
    ]

    AUTO_FOCUS = "#help-scroll"

    def __init__(self, target: Screen[Any]) -> None:
        super().__init__()
        self.target = target
        """The screen this help is about."""
        self.actions = screen_actions(target)
        """Its actions as the signed-in role has them, read when the help opened."""

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(f"Help — {help_title(self.target)}", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(help_text(self.target), id="help-about", markup=False)
                yield Label("Keys", id="help-keys-title")
                if self.actions:
                    yield Static(keys_table(self.actions), id="help-keys")
                else:
                    yield Static("No keys here beyond typing and Escape.", id="help-keys")
            yield Static(
                "Tab moves between lists and fields · Ctrl+P finds any action by name ·"
                " Escape closes this help",
                id="help-hint",
            )

    def action_close(self) -> None:
        self.dismiss(None)
