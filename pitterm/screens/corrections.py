"""Admin corrections (DESIGN §6): an adjustment (±, with a note) and the reversal of one entry."""

from __future__ import annotations

import uuid
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from pitterm.domain import loyalty
from pitterm.domain.loyalty import Adjust, Corrected, LedgerRow, Reverse
from pitterm.screens.loyalty_form import LoyaltyForm, whole_points
from pitterm.widgets.ledger_text import reason_label
from pitterm.widgets.play_format import points
from pitterm.widgets.points import delta


def _receipt(outcome: Corrected, what: str) -> str:
    lines = [
        f"{what}: {delta(outcome.points_delta)} pts",
        f"Balance {points(outcome.balance_before)} → {points(outcome.balance_after)}",
    ]
    if outcome.is_existing:
        lines.append("(This request was already recorded; nothing was applied twice.)")
    return "\n".join(lines)


class AdjustModal(LoyaltyForm[Corrected]):
    """An admin adjustment of a player's balance, up or down. Dismisses with Corrected or None."""

    HELP = """
    Admin only. Adjust the player's points balance up or down, with a note saying why. The
    adjustment is a new ledger entry, audited: nothing already in the ledger is changed.
    """

    TITLE = "Adjust balance"
    DESCRIPTION = "Record an adjustment"
    FIELD_IDS: ClassVar[dict[str, str]] = {"points": "adjust-points", "note": "adjust-note"}

    def __init__(self, player_id: uuid.UUID, player_name: str, balance: int) -> None:
        super().__init__()
        self.player_id = player_id
        self.player_name = player_name
        self.balance = balance

    def compose_form(self) -> ComposeResult:
        yield Static(
            f"{self.player_name} · balance {points(self.balance)}", id="adjust-player", markup=False
        )
        with Horizontal(classes="form-row"):
            yield Label("Points ±", classes="form-label")
            yield Input(placeholder="e.g. 250 or -250", restrict=r"[-+0-9,]*", id="adjust-points")
        with Horizontal(classes="form-row"):
            yield Label("Note", classes="form-label")
            yield Input(placeholder="required: why", max_length=2000, id="adjust-note")

    def submit(self) -> None:
        change = whole_points(self.typed("#adjust-points"), "points", signed=True)
        if change == 0:
            raise ValueError("points: an adjustment moves the balance up or down")
        note = self.typed("#adjust-note")
        if not note:
            raise ValueError("note: say why the balance is adjusted (it is required)")
        command = Adjust(
            player_id=self.player_id,
            points=change,
            note=note,
            idempotency_key=self.idempotency_key,
        )
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(lambda: loyalty.adjust(database.uow(actor), actor, command), self._done)

    def _done(self, outcome: Corrected) -> None:
        self.show_receipt(outcome, _receipt(outcome, f"Adjusted {self.player_name}"))


class ReverseModal(LoyaltyForm[Corrected]):
    """Reverse one ledger entry exactly (admin); the modal is the confirmation. Needs a note."""

    HELP = """
    Admin only. Reverse one ledger entry exactly: a new entry for the opposite amount, with
    the note you give. The original stays in the ledger; a reversal itself cannot be
    reversed.
    """

    TITLE = "Reverse a ledger entry"
    DESCRIPTION = "Reverse a ledger entry"
    FIELD_IDS: ClassVar[dict[str, str]] = {"note": "reverse-note"}

    def __init__(self, entry: LedgerRow, when: str) -> None:
        super().__init__()
        self.entry = entry
        self.when = when

    def compose_form(self) -> ComposeResult:
        entry = self.entry
        yield Static(
            f"{reason_label(entry.reason)} {delta(entry.points_delta)} pts for {entry.player_name}"
            f"\n{self.when} by {entry.staff_code or '—'} · {entry.note or 'no note'}"
            f"\nThe reversal posts {delta(-entry.points_delta)} pts and references this entry.",
            id="reverse-entry",
            markup=False,
        )
        with Horizontal(classes="form-row"):
            yield Label("Note", classes="form-label")
            yield Input(
                placeholder="required: why it is reversed", max_length=2000, id="reverse-note"
            )

    def hint(self) -> str:
        return "Enter: reverse the entry · Escape: close without reversing"

    def submit(self) -> None:
        note = self.typed("#reverse-note")
        if not note:
            raise ValueError("note: say why the entry is reversed (it is required)")
        command = Reverse(entry_id=self.entry.id, note=note, idempotency_key=self.idempotency_key)
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(lambda: loyalty.reverse(database.uow(actor), actor, command), self._done)

    def _done(self, outcome: Corrected) -> None:
        self.show_receipt(outcome, _receipt(outcome, f"Reversed for {self.entry.player_name}"))
