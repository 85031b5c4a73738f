"""A loyalty change modal: a floor FormModal that ends on a receipt instead of closing.

Comps, credits, adjustments and reversals move a player's balance; staff need to see what
happened (balance before and after, who approved) before the modal goes away. After a
success the fields lock, the receipt shows, and Enter or Escape closes with the outcome.
The idempotency key (made when the modal opens, by FormModal) is what every retry sends.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from pitterm.screens.forms import FormModal

OutcomeT = TypeVar("OutcomeT")


class LoyaltyForm(FormModal[OutcomeT]):
    """Base of the comp, credit, adjustment and reversal modals; dismisses with the outcome."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "submit",
            "Send",
            id="form.enter",
            tooltip="Send the form, or close it once the receipt shows.",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.outcome: OutcomeT | None = None
        """The change made; once set, the modal shows its receipt and only closes."""

    def compose_fields(self) -> ComposeResult:
        yield from self.compose_form()
        yield Static("", classes="form-receipt", markup=False)

    def compose_form(self) -> ComposeResult:
        """The modal's own fields and facts."""
        yield from ()

    def action_submit(self) -> None:
        if self.outcome is not None:
            self.dismiss(self.outcome)
        else:
            super().action_submit()

    def action_cancel(self) -> None:
        if self.busy:
            self.show_error("Waiting for the answer to the request already sent…")
            return
        self.dismiss(self.outcome)

    def show_receipt(self, outcome: OutcomeT, text: str) -> None:
        """Lock the form and show what the change did."""
        self.outcome = outcome
        self.clear_error()
        for field in self.query("Input, Select, OptionList"):
            field.disabled = True
        receipt = self.query_one(".form-receipt", Static)
        receipt.update(text)
        receipt.display = True
        self.query_one(".form-hint", Static).update("Enter or Escape: close")
        self.set_focus(None)

    def typed(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()


def whole_points(text: str, field: str, *, signed: bool = False) -> int:
    """Points typed by staff ('1,500', '-200'); ValueError naming the field otherwise."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    sign = 1
    if signed and cleaned[:1] in {"+", "-"}:
        sign = -1 if cleaned[0] == "-" else 1
        cleaned = cleaned[1:]
    if not cleaned.isdigit():
        what = "a whole number of points, + or -" if signed else "a whole number of points"
        raise ValueError(f"{field}: enter {what}")
    return sign * int(cleaned)


__all__ = ["LoyaltyForm", "whole_points"]
