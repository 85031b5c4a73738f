"""The idle lock: the terminal hides its work until the signed-in staff member types the PIN.

Wrong PINs count like sign-in; the fifth locks the account, and the terminal signs out.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from pitterm.domain import auth
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.screens.base import PitModal


class LockScreen(PitModal[Actor | None]):
    """Dismisses with the re-authenticated Actor, or None when the terminal must sign out."""

    HELP = """
    The terminal locked itself after a quiet spell, or someone locked it. Type your PIN to
    carry on exactly where you were. Wrong PINs count as at sign-in: too many lock the
    account. Someone else needs the terminal? Sign out, and they sign in.
    """

    AUTO_FOCUS = "#lock-pin"

    BINDINGS = [
        Binding(
            "ctrl+o",
            "sign_out",
            "Sign out",
            id="lock.sign_out",
            tooltip="Sign this staff member out so someone else can sign in.",
        ),
    ]

    def __init__(self, database: Database, actor: Actor) -> None:
        super().__init__()
        self.database = database
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(id="lock-dialog", classes="dialog"):
            yield Label("Terminal locked", classes="dialog-title")
            yield Static(
                f"Signed in: {self.actor.display_name} ({self.actor.staff_code},"
                f" {self.actor.role.label}). Type your PIN to carry on.",
                classes="dialog-body",
                markup=False,
            )
            yield Input(
                placeholder="PIN",
                password=True,
                max_length=8,
                restrict=r"[0-9]*",
                id="lock-pin",
            )
            yield Static("", id="lock-message", markup=False)
            yield Static("Ctrl+O signs out, so someone else can sign in.", id="lock-hint")

    @on(Input.Submitted, "#lock-pin")
    def _pin_entered(self, event: Input.Submitted) -> None:
        self.query_one("#lock-message", Static).update("Checking…")
        self.reauthenticate(self.database, self.actor, event.value)

    @work(
        thread=True,
        exit_on_error=False,
        group="lock",
        description="Check the PIN to unlock the terminal",
    )
    def reauthenticate(self, database: Database, actor: Actor, pin: str) -> None:
        try:
            again = auth.reauthenticate(database.uow(actor), actor, pin)
        except DomainError as error:
            self.app.call_from_thread(self._refused, error)
            raise
        self.app.call_from_thread(self._unlocked, again)

    def _unlocked(self, actor: Actor) -> None:
        self.dismiss(actor)

    def _refused(self, error: DomainError) -> None:
        if error.code is ErrorCode.AUTH_STAFF_LOCKED:
            return  # the account is locked: the worker's failure closes the lock screen
        self.query_one("#lock-message", Static).update(error.message)
        pin = self.query_one("#lock-pin", Input)
        pin.clear()
        pin.focus()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Close only after the failure has reached the App (PitModal passes it on), so the
        # AUTH_STAFF_LOCKED notification is not lost with this screen.
        error = event.worker.error if event.state is WorkerState.ERROR else None
        if isinstance(error, DomainError) and error.code is ErrorCode.AUTH_STAFF_LOCKED:
            self.dismiss(None)

    def action_sign_out(self) -> None:
        self.dismiss(None)
