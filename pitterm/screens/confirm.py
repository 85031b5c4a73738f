"""A yes/no question asked before a change: Enter or y confirms, Escape or n declines."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Label, Static

from pitterm.screens.base import PitModal


class ConfirmScreen(PitModal[bool | None]):
    """Dismisses with True (confirmed), False (declined) or None (escaped).

    The title, question and button label are shown exactly as written, never read as markup:
    questions name players, staff, tables and files (pitterm.widgets.literal).
    """

    HELP = """
    A yes/no question before a change. Yes goes ahead; No or Escape leaves everything as it
    is.
    """

    BINDINGS = [
        Binding(
            "y",
            "answer(True)",
            "Yes",
            id="confirm.yes",
            tooltip="Go ahead with the change.",
        ),
        Binding(
            "n",
            "answer(False)",
            "No",
            id="confirm.no",
            tooltip="Leave things as they are.",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="confirm.cancel",
            tooltip="Close without changing anything.",
        ),
    ]

    def __init__(self, title: str, question: str, *, confirm_label: str = "Yes") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.question, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yes = Content(f"{self.confirm_label} (y)")
                yield Button(yes, variant="primary", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
