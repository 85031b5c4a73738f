"""Manual credit (seed 003 flow 3): positive points, a required note, optional suggested points."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from pitterm.domain import loyalty
from pitterm.domain.loyalty import Credited, ManualCredit, PlayerCard
from pitterm.screens.loyalty_form import LoyaltyForm, whole_points
from pitterm.widgets.play_format import points


class CreditModal(LoyaltyForm[Credited]):
    """Dismisses with the Credited outcome, or None."""

    HELP = """
    Credit points to the player by hand (service recovery, goodwill), with a note saying why;
    optionally the points the rules would have suggested. Pit boss or admin. It is a new
    ledger entry, audited, and sending twice never credits twice.
    """

    TITLE = "Manual credit"
    DESCRIPTION = "Record a manual credit"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "points": "credit-points",
        "suggested_points": "credit-suggested",
        "note": "credit-note",
    }

    def __init__(self, card: PlayerCard) -> None:
        super().__init__()
        self.card = card

    def compose_form(self) -> ComposeResult:
        yield Static(
            f"{self.card.name} · card {self.card.loyalty_card_number or '—'}"
            f" · balance {points(self.card.balance)}",
            id="credit-player",
            markup=False,
        )
        with Horizontal(classes="form-row"):
            yield Label("Points", classes="form-label")
            yield Input(placeholder="points to credit", restrict=r"[0-9,]*", id="credit-points")
        with Horizontal(classes="form-row"):
            yield Label("Suggested", classes="form-label")
            yield Input(
                placeholder="optional: the suggested value, for the record",
                restrict=r"[0-9,]*",
                id="credit-suggested",
            )
        with Horizontal(classes="form-row"):
            yield Label("Note", classes="form-label")
            yield Input(placeholder="required: why", max_length=2000, id="credit-note")

    def submit(self) -> None:
        credit = whole_points(self.typed("#credit-points"), "points")
        if credit <= 0:
            raise ValueError("points: a credit is at least 1 point")
        suggested_text = self.typed("#credit-suggested")
        suggested = whole_points(suggested_text, "suggested_points") if suggested_text else None
        note = self.typed("#credit-note")
        if not note:
            raise ValueError("note: say why these points are credited (it is required)")
        command = ManualCredit(
            player_id=self.card.player_id,
            points=credit,
            note=note,
            suggested_points=suggested,
            visit_id=self.card.open_visit_id,
            idempotency_key=self.idempotency_key,
        )
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(
            lambda: loyalty.manual_credit(database.uow(actor), actor, command), self._done
        )

    def _done(self, outcome: Credited) -> None:
        lines = [
            f"Credited {points(outcome.points_delta)} to {self.card.name}",
            f"Balance now {points(outcome.balance_after)}",
        ]
        if outcome.is_existing:
            lines.append("(This request was already recorded; it was not credited twice.)")
        self.show_receipt(outcome, "\n".join(lines))
