"""The modal form every floor job uses: fields, an inline error line, one service call.

A form's idempotency key is made when the form opens, never on submit, so a double Enter
or a retry after a lost connection repeats the same request and cannot apply it twice.
The service call runs in a thread worker; a refusal (``DomainError``) is shown inline,
next to the fields it names, and the worker still fails so the App notifies it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.screens.base import PitModal, TerminalSession, session_of
from pitterm.widgets.literal import literal

ResultT = TypeVar("ResultT")
CallT = TypeVar("CallT")


class FormModal(PitModal[ResultT | None]):
    """A dialog of fields that submits once and dismisses with the service's result.

    Subclasses compose their fields in ``compose_fields`` and implement ``submit``, which
    validates what was typed (raising ``ValueError`` or ``DomainError`` for the inline
    line) and then calls ``self.call_service``. Enter moves to the next field and submits
    from the last; Ctrl+S submits from anywhere; Escape dismisses with None.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="form.cancel",
            tooltip="Close the form without changing anything.",
        ),
        Binding(
            "ctrl+s",
            "submit",
            "Save",
            id="form.submit",
            tooltip="Submit the form (Enter on the last field does the same).",
        ),
    ]

    TITLE: ClassVar[str] = ""
    """The dialog's title."""
    DESCRIPTION: ClassVar[str] = "Save the form"
    """What the service call does, for the worker (and an unexpected failure's message)."""
    FIELD_IDS: ClassVar[dict[str, str]] = {}
    """Service field name → id of the widget to mark when a refusal names that field."""

    def __init__(self) -> None:
        super().__init__()
        self.idempotency_key = uuid.uuid4()
        """Made when the form opens: every submit of this form is the same request."""
        self.busy = False
        """A submit is in flight; further submits are ignored until it answers."""

    @property
    def session(self) -> TerminalSession:
        return session_of(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form-dialog"):
            # Titles name players, programs and casinos; errors quote what was typed.
            yield Label(self.form_title(), classes="dialog-title", markup=False)
            yield from self.compose_fields()
            yield Static("", classes="form-error", markup=False)
            yield Static(self.hint(), classes="form-hint")

    def form_title(self) -> str:
        return self.TITLE

    def compose_fields(self) -> ComposeResult:
        """The form's own widgets (labels, inputs, selects, facts)."""
        yield from ()

    def hint(self) -> str:
        return "Enter: next field / submit · Ctrl+S: submit · Escape: cancel"

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO: subclasses override initial_focus.
        first = self.initial_focus()
        if first is not None:
            first.focus()

    def initial_focus(self) -> Widget | None:
        """The field the cursor starts in: the first, unless a subclass knows better."""
        fields = self._fields()
        return fields[0] if fields else None

    # -- submitting ------------------------------------------------------------------------

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        if self.busy:
            return
        self.clear_error()
        try:
            self.submit()
        except (ValueError, DomainError) as error:
            self.show_error(error)

    def submit(self) -> None:
        """Validate the fields and call the service with ``call_service``."""
        raise TypeError(f"{type(self).__name__} must define submit()")

    def call_service(self, call: Callable[[], CallT], done: Callable[[CallT], object]) -> None:
        """Run ``call`` in a thread worker; ``done(result)`` runs on the UI thread after."""
        self.busy = True
        self.set_class(True, "-busy")
        self.run_worker(
            lambda: self._run(call, done),
            thread=True,
            exit_on_error=False,
            group="form-submit",
            description=self.DESCRIPTION,
        )

    def _run(self, call: Callable[[], CallT], done: Callable[[CallT], object]) -> None:
        try:
            result = call()
        except BaseException as error:
            self.app.call_from_thread(self._failed, error)
            raise  # the App's worker handler notifies it, with its code
        self.app.call_from_thread(self._succeeded, done, result)

    def _succeeded(self, done: Callable[[CallT], object], result: CallT) -> None:
        self.busy = False
        self.set_class(False, "-busy")
        done(result)

    def _failed(self, error: BaseException) -> None:
        self.busy = False
        self.set_class(False, "-busy")
        if isinstance(error, DomainError):
            self.show_error(error)
        else:
            self.show_error(f"Could not {self.DESCRIPTION.lower()}: {type(error).__name__}")

    # -- the inline error line -------------------------------------------------------------

    def show_error(self, error: str | Exception) -> None:
        """Show a refusal under the fields and mark the fields it names."""
        line = self.query_one(".form-error", Static)
        line.update(str(error))
        line.display = True
        for name in _fields_named(error):
            widget_id = self.FIELD_IDS.get(name)
            if widget_id is not None:
                self.query_one(f"#{widget_id}").add_class("-invalid")

    def clear_error(self) -> None:
        line = self.query_one(".form-error", Static)
        line.update("")
        line.display = False
        for widget in self.query(".-invalid"):
            widget.remove_class("-invalid")

    # -- moving between fields -------------------------------------------------------------

    def _fields(self) -> list[Widget]:
        return [w for w in self.query("Input, Select") if w.display and not w.disabled]

    @on(Input.Submitted)
    def _next_or_submit(self, event: Input.Submitted) -> None:
        event.stop()
        fields = self._fields()
        index = fields.index(event.input) if event.input in fields else len(fields) - 1
        if index + 1 < len(fields):
            fields[index + 1].focus()
        else:
            self.action_submit()


def _fields_named(error: str | Exception) -> Iterable[str]:
    """The input fields a refusal is about: pydantic's list, or the 'field: …' prefix."""
    message = str(error)
    if isinstance(error, DomainError):
        message = error.message
        details: Any = error.details.get("errors")
        if isinstance(details, list):
            for item in details:
                if isinstance(item, dict) and isinstance(item.get("field"), str):
                    yield item["field"].split(".")[0]
        if error.code in {ErrorCode.SEAT_TAKEN, ErrorCode.SEAT_INVALID}:
            yield "seat"
        if error.code is ErrorCode.BET_INVALID:
            yield "average_bet_cents"
    for part in message.split("; "):
        head, sep, _ = part.partition(":")
        if sep and " " not in head.strip():
            yield head.strip()


def table_options(tables: Iterable[tuple[str, uuid.UUID]]) -> list[tuple[Text, str]]:
    """Select options for tables: (label as typed, id as text)."""
    return [(literal(label), str(table_id)) for label, table_id in tables]


def selected_uuid(select: Select[str]) -> uuid.UUID | None:
    """The Select's value as a UUID, or None when nothing is selected."""
    value = select.value
    return uuid.UUID(value) if isinstance(value, str) else None


def parse_seat(text: str, *, required: bool = True) -> int | None:
    """A seat number typed by staff; ValueError with a readable message if it is not one."""
    text = text.strip()
    if not text:
        if required:
            raise ValueError("seat: enter the seat number")
        return None
    if not text.isdigit() or not 1 <= int(text) <= 14:
        raise ValueError(f"seat: {text!r} is not a seat number (1 to 14)")
    return int(text)
