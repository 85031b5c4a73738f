"""Program dialogs of Promo mode: create or edit a program; activate, pause or end one.

Times are typed in the casino's zone. An edit offers only what the program's state lets
change (type and start are fixed once a program has run); the service checks again.
Activate, pause and end are confirmations that make the service call themselves, so a
refusal (a closed window, say) shows in the dialog.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static

from pitterm.domain import promo
from pitterm.domain.promo import ProgramSaved, ProgramView
from pitterm.domain.promo_rules import EDITABLE_FIELDS, ProgramAction, ProgramStatus, PromoType
from pitterm.screens.forms import FormModal
from pitterm.screens.promo_coupons import parse_local
from pitterm.widgets.money_input import MoneyInput

__all__ = ["ProgramActionForm", "ProgramForm", "program_window"]

ALL_FIELDS = EDITABLE_FIELDS[ProgramStatus.DRAFT]


def program_window(program: ProgramView, time_zone: str | None, *, short: bool = False) -> str:
    """'2026-11-01 00:00 → 2026-12-31 00:00' in the casino's zone ('01 Nov → 31 Dec' short)."""
    zone = ZoneInfo(time_zone or "UTC")
    start, end = program.start_at.astimezone(zone), program.end_at.astimezone(zone)
    if short:
        return f"{start:%d %b} → {end:%d %b}"
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M}"


class ProgramForm(FormModal[ProgramSaved]):
    """Name, type, window, terms, minimum wager and maximum uses of a program."""

    HELP = """
    Create or edit a promo program: name, type, the dates it runs, its terms, the minimum
    wager and the maximum uses. A new program is a draft until it is activated; after that,
    its state decides what may still change.
    """

    TITLE = "New promo program"
    DESCRIPTION = "Save the promo program"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "name": "program-name",
        "promo_type": "program-type",
        "start_at": "program-start",
        "end_at": "program-end",
        "terms": "program-terms",
        "min_wager_cents": "program-min-wager",
        "max_uses": "program-max-uses",
    }

    def __init__(self, time_zone: str, now: datetime, program: ProgramView | None = None) -> None:
        super().__init__()
        self.time_zone = time_zone
        self.now = now
        self.program = program
        self.editable = EDITABLE_FIELDS[program.status] if program is not None else ALL_FIELDS

    def form_title(self) -> str:
        if self.program is None:
            return self.TITLE
        return f"Edit program · {self.program.name} ({self.program.status.value})"

    def compose_fields(self) -> ComposeResult:
        zone = ZoneInfo(self.time_zone)
        program = self.program
        start = (program.start_at if program else self.now).astimezone(zone)
        end = program.end_at.astimezone(zone) if program else None
        rows: list[tuple[str, str, Input | Select[str]]] = [
            ("name", "Name", Input(program.name if program else "", id="program-name")),
            (
                "promo_type",
                "Type",
                Select(
                    [(t.label, t.value) for t in PromoType],
                    value=(program.promo_type if program else PromoType.MATCH_PLAY).value,
                    allow_blank=False,
                    id="program-type",
                ),
            ),
            (
                "start_at",
                "Starts",
                Input(
                    f"{start:%Y-%m-%d %H:%M}", placeholder="YYYY-MM-DD HH:MM", id="program-start"
                ),
            ),
            (
                "end_at",
                "Ends",
                Input(
                    f"{end:%Y-%m-%d %H:%M}" if end else "",
                    placeholder="YYYY-MM-DD HH:MM (or a date: the end of that day)",
                    id="program-end",
                ),
            ),
            (
                "terms",
                "Terms",
                Input(program.terms if program else "", placeholder="optional", id="program-terms"),
            ),
            (
                "min_wager_cents",
                "Min wager",
                MoneyInput(
                    _dollars_text(program.min_wager_cents if program else None),
                    placeholder="optional, dollars",
                    id="program-min-wager",
                ),
            ),
            (
                "max_uses",
                "Max coupons",
                Input(
                    str(program.max_uses) if program and program.max_uses else "",
                    placeholder="optional: how many coupons the program may issue",
                    restrict=r"[0-9]*",
                    id="program-max-uses",
                ),
            ),
        ]
        for field, label, widget in rows:
            widget.disabled = field not in self.editable
            with Horizontal(classes="form-row"):
                yield Label(label, classes="form-label")
                yield widget
        if program is not None and program.status is not ProgramStatus.DRAFT:
            yield Static("Type and start are fixed once a program has run.", classes="form-facts")

    def submit(self) -> None:
        name = self.query_one("#program-name", Input).value.strip()
        if not name:
            raise ValueError("name: give the program a name")
        kind = self.query_one("#program-type", Select).value
        start = parse_local(
            self.query_one("#program-start", Input).value, self.time_zone, "start_at"
        )
        end_text = self.query_one("#program-end", Input).value
        if not end_text.strip():
            raise ValueError("end_at: type when the program ends")
        end = parse_local(end_text, self.time_zone, "end_at", end_of_day=True)
        min_text = self.query_one("#program-min-wager", MoneyInput)
        try:
            min_wager = min_text.cents() if min_text.value.strip() else None
        except ValueError as error:
            raise ValueError(f"min_wager_cents: {error}") from error
        uses_text = self.query_one("#program-max-uses", Input).value.strip()
        max_uses = int(uses_text) if uses_text else None
        fields = {
            "name": name,
            "promo_type": PromoType(str(kind)),
            "start_at": start,
            "end_at": end,
            "terms": self.query_one("#program-terms", Input).value.strip(),
            "min_wager_cents": min_wager,
            "max_uses": max_uses,
            "idempotency_key": self.idempotency_key,
        }
        session = self.session
        actor = session.signed_in()
        program = self.program
        if program is None:
            new = promo.NewProgram.model_validate(fields)
            self.call_service(
                lambda: promo.create_program(session.database.uow(actor), actor, new), self.dismiss
            )
            return
        if "start_at" not in self.editable:
            fields["start_at"] = program.start_at  # unchanged, as the form shows it
        edit = promo.EditProgram.model_validate({**fields, "program_id": program.id})
        self.call_service(
            lambda: promo.edit_program(session.database.uow(actor), actor, edit), self.dismiss
        )


def _dollars_text(cents: int | None) -> str:
    if cents is None:
        return ""
    whole, part = divmod(cents, 100)
    return f"{whole}" if part == 0 else f"{whole}.{part:02d}"


_QUESTIONS = {
    ProgramAction.ACTIVATE: (
        "Activate",
        "Coupons can be issued from it while its window is open.",
    ),
    ProgramAction.PAUSE: (
        "Pause",
        "Issuing stops; coupons already out stay valid until they expire.",
    ),
    ProgramAction.END: (
        "End",
        "Ending is final: no more coupons, ever. Coupons already out run to their expiry.",
    ),
}


class ProgramActionForm(FormModal[ProgramSaved]):
    """'Activate / pause / end this program?' — y or Enter does it, n or Escape leaves it."""

    HELP = """
    Confirm a change to the program's state: activate (coupons can be issued), pause (issuing
    stops until it is activated again) or end (for good).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *FormModal.BINDINGS,
        Binding("y,enter", "submit", "Yes", id="program.confirm", tooltip="Go ahead."),
        Binding("n", "cancel", "No", id="program.decline", tooltip="Leave the program as it is."),
    ]
    DESCRIPTION = "Change the program's status"

    def __init__(self, program: ProgramView, action: ProgramAction, time_zone: str | None) -> None:
        super().__init__()
        self.program = program
        self.action = action
        self.time_zone = time_zone

    def form_title(self) -> str:
        verb, _ = _QUESTIONS[self.action]
        return f"{verb} program {self.program.name}?"

    def compose_fields(self) -> ComposeResult:
        _, consequence = _QUESTIONS[self.action]
        yield Static(
            f"{self.program.promo_type.label} · {self.program.status.value} ·"
            f" {program_window(self.program, self.time_zone)} · {self.program.uses} coupons\n\n"
            f"{consequence}",
            classes="dialog-body",
        )

    def hint(self) -> str:
        verb, _ = _QUESTIONS[self.action]
        return f"y or Enter: {verb.lower()} · n or Escape: cancel"

    def submit(self) -> None:
        command = promo.ProgramCommand(
            program_id=self.program.id, idempotency_key=self.idempotency_key
        )
        call = {
            ProgramAction.ACTIVATE: promo.activate_program,
            ProgramAction.PAUSE: promo.pause_program,
            ProgramAction.END: promo.end_program,
        }[self.action]
        session = self.session
        actor = session.signed_in()
        self.call_service(lambda: call(session.database.uow(actor), actor, command), self.dismiss)
