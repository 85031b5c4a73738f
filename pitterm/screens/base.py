"""What every pitterm screen shares: the terminal's session, and the route for worker failures.

Screens never import the App (the App imports them). They reach the session through the
small `SessionHost` protocol the App satisfies, and they hand the state changes of their
workers to the App, whose one handler turns a failure into an error notification.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message_pump import MessagePump
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer
from textual.worker import Worker

from pitterm.domain.actor import Actor
from pitterm.domain.auth import TerminalStatus
from pitterm.domain.clock import OffsetClock
from pitterm.domain.database import Database, UnitOfWork
from pitterm.domain.enums import StaffRole
from pitterm.widgets.mode_bar import ModeBar
from pitterm.widgets.status_header import StatusHeader
from pitterm.widgets.training_banner import TrainingBanner

ResultT = TypeVar("ResultT")


class DemoLoginRow(Protocol):
    """One demo staff login as the sign-in screen lists it (``pitterm.demo.DemoLogin``)."""

    @property
    def casino_code(self) -> str: ...
    @property
    def staff_code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> StaffRole: ...
    @property
    def pin(self) -> str: ...


@dataclass
class TerminalSession:
    """This terminal: its database, how it runs, and who is signed in (if anyone)."""

    database: Database
    """Where every service call's unit of work comes from."""
    demo: bool
    """Demo (training) mode: a casino picker and the demo logins on the sign-in screen."""
    casino_code: str | None = None
    """The casino this terminal belongs to (``PITTERM_CASINO``), if configured."""
    demo_logins: Sequence[DemoLoginRow] = ()
    """Demo staff and PINs; empty outside demo mode."""
    actor: Actor | None = None
    """The signed-in staff member, or None at the sign-in screen."""
    status: TerminalStatus | None = None
    """Header facts and shell settings for the signed-in staff member."""
    trainer_clock: OffsetClock | None = None
    """Demo mode's simulated clock (the one every service call reads); None in production."""

    def clock_offset(self) -> timedelta | None:
        """How far the trainer has moved the clock ahead of real time (None outside demo)."""
        return None if self.trainer_clock is None else self.trainer_clock.offset

    def signed_in(self) -> Actor:
        """The signed-in actor; screens behind sign-in may rely on there being one."""
        if self.actor is None:
            raise RuntimeError("no staff member is signed in at this terminal")
        return self.actor

    def reader(self) -> UnitOfWork:
        """A read-only unit of work for the signed-in actor."""
        return self.database.reader(self.signed_in())

    def uow(self) -> UnitOfWork:
        """A writing unit of work for the signed-in actor."""
        return self.database.uow(self.signed_in())


@runtime_checkable
class SessionHost(Protocol):
    """What screens need of the App: the session. PitApp satisfies it."""

    session: TerminalSession


def session_of(node: MessagePump) -> TerminalSession:
    app = node.app
    if not isinstance(app, SessionHost):
        raise RuntimeError("pitterm screens run inside PitApp")
    return app.session


HELP_BINDINGS: list[BindingType] = [
    Binding(
        "f1",
        "app.help",
        "Help",
        id="app.help",
        key_display="F1",
        tooltip="Help for this screen: its keys and the jobs done here.",
    ),
    Binding(
        "question_mark",
        "app.help",
        "Help",
        id="app.help_question",
        show=False,  # F1 in the footer says it; ? is the same key for a typing-free screen
        tooltip="Help for this screen: its keys and the jobs done here.",
    ),
]
"""F1 (and ? where nothing is being typed) opens help on every screen and dialog."""


def humanised(name: str) -> str:
    """'PlayerPicker' → 'Player picker': a title for a screen that has no better one."""
    words = re.findall(r"[A-Z][a-z]*|[a-z]+|\d+", name)
    return " ".join([words[0], *(word.lower() for word in words[1:])]) if words else name


def show_clock_offset(screen: Screen[Any]) -> None:
    """Bring a screen's training banner up to date with the simulated clock."""
    offset = session_of(screen).clock_offset()
    for banner in screen.query(TrainingBanner):
        banner.show_offset(offset)


class PitScreen(Screen[None]):
    """Base of pitterm's full screens."""

    BINDINGS: ClassVar[list[BindingType]] = HELP_BINDINGS

    HELP: ClassVar[str | None] = None
    """For a pit boss: the jobs done on this screen (its keys are listed from its bindings)."""

    def help_title(self) -> str:
        """What the help dialog calls this screen."""
        return humanised(type(self).__name__)

    @property
    def session(self) -> TerminalSession:
        return session_of(self)

    def on_screen_resume(self) -> None:
        # The trainer may have moved the clock while this screen was hidden.
        show_clock_offset(self)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker state messages do not bubble; pass them to the App's single handler.
        self.app.post_message(event)


class ModeScreen(PitScreen):
    """The base screen of a mode: status header, the mode's body, the mode bar and keys."""

    MODE_NAME = ""
    """The mode's name in App.MODES (and in its binding id, ``mode.NAME``)."""
    MODE_TITLE = ""
    """The mode's title, shown at the right of the header."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+t",
            "app.advance_clock",
            "Advance clock",
            id="training.advance_clock",
            tooltip="Training only: move the simulated clock forward so open slips accrue.",
        ),
    ]

    @property
    def mode_name(self) -> str:
        return self.MODE_NAME

    @property
    def mode_title(self) -> str:
        return self.MODE_TITLE

    def help_title(self) -> str:
        return self.mode_title or super().help_title()

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        if self.session.demo:
            yield TrainingBanner(self.session.clock_offset())
        yield from self.compose_body()
        with Vertical(id="shell-keys"):
            yield ModeBar(self.mode_name)
            yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        """The mode's own widgets, between the header and the footer."""
        yield from ()

    def on_mount(self) -> None:
        self.refresh_header()

    def on_screen_resume(self) -> None:
        self.refresh_header()

    def refresh_header(self) -> None:
        header = self.query_one(StatusHeader)
        header.status = self.session.status
        header.mode_title = self.mode_title


class PitModal(ModalScreen[ResultT]):
    """Base of pitterm's modal screens (confirmations, approvals, the lock).

    In demo mode each carries the training banner at its top, so no dialog can be taken
    for the real casino's.
    """

    BINDINGS: ClassVar[list[BindingType]] = HELP_BINDINGS

    HELP: ClassVar[str | None] = None
    """For a pit boss: what this dialog does (its keys are listed from its bindings)."""

    def help_title(self) -> str:
        """What the help dialog calls this dialog."""
        return humanised(type(self).__name__)

    def on_mount(self) -> None:
        # Textual runs on_mount of every class in the MRO, so subclasses need not call this.
        session = session_of(self)
        if session.demo:
            self.mount(TrainingBanner(session.clock_offset()).add_class("-over-modal"))

    def on_screen_resume(self) -> None:
        show_clock_offset(self)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # As in PitScreen: the App reports failures, in one place.
        self.app.post_message(event)
