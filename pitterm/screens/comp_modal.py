"""Issue a comp (seed 003 flow 2): pick from the catalog or type a cost, say why, see the balance.

When the balance is short, the overdraw approval prompt comes up before anything is sent;
a refused approval (wrong PIN, approver not allowed) brings the prompt back with the reason,
and the retry carries the same request key as every other send from this modal.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from pitterm.domain import loyalty
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.loyalty import CompView, OverdrawPolicy, PlayerCard, Redeem, Redeemed
from pitterm.screens.approval import ApprovalPrompt, OverdrawApproval, OverdrawRequest
from pitterm.screens.loyalty_form import LoyaltyForm, whole_points
from pitterm.widgets.play_format import points

CUSTOM = "custom"
"""The option id of 'type a cost' in the catalog list."""

RETRY_APPROVAL = frozenset(
    {
        ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
        ErrorCode.AUTH_INVALID_CREDENTIALS,
        ErrorCode.AUTH_STAFF_LOCKED,
        ErrorCode.VALIDATION_FAILED,
    }
)
"""Refusals of the approver: the prompt comes back with the reason for another try."""


class CompModal(LoyaltyForm[Redeemed]):
    """Dismisses with the Redeemed outcome after a comp, or None."""

    HELP = """
    Issue a comp to the player: pick an item from the catalog or type a points cost, add a
    note or reference, and send. The points are debited from the balance and the receipt
    shows the new balance. If the balance is short, the overdraw approval comes first.
    Sending twice never debits twice.
    """

    TITLE = "Issue a comp"
    DESCRIPTION = "Issue a comp"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "points": "comp-cost",
        "note": "comp-note",
        "reference": "comp-reference",
    }

    def __init__(self, card: PlayerCard) -> None:
        super().__init__()
        self.card = card
        self.balance = card.balance
        """The balance as last read (refreshed when the modal opens)."""
        self.catalog: dict[str, CompView] = {}
        self.policy: OverdrawPolicy | None = None
        self.approval: OverdrawApproval | None = None
        """The approval sent with the last try, if any."""
        self.load_failed = False
        """The catalog read failed (the database was down): the next send reads it again."""

    def compose_form(self) -> ComposeResult:
        yield Static(
            f"{self.card.name} · card {self.card.loyalty_card_number or '—'}",
            id="comp-player",
            markup=False,
        )
        yield OptionList(Option("Custom cost (type it below)", id=CUSTOM), id="comp-catalog")
        with Horizontal(classes="form-row"):
            yield Label("Cost (pts)", classes="form-label")
            yield Input(
                placeholder="points",
                restrict=r"[0-9,]*",
                max_length=12,
                id="comp-cost",
            )
        with Horizontal(classes="form-row"):
            yield Label("Reference", classes="form-label")
            yield Input(
                placeholder="optional: receipt or voucher", max_length=64, id="comp-reference"
            )
        with Horizontal(classes="form-row"):
            yield Label("Note", classes="form-label")
            yield Input(placeholder="required: why this comp", max_length=2000, id="comp-note")
        yield Static("", id="comp-after")

    def hint(self) -> str:
        return "↑↓ Enter: pick · Enter on the note: issue · Ctrl+S: issue · Escape: close"

    def on_mount(self) -> None:
        self.call_after_refresh(self.query_one("#comp-catalog", OptionList).focus)
        self._show_after()
        actor = self.session.signed_in()
        self.load(self.session.database, actor)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="comp-load",
        description="Read the comp catalog and overdraw policy",
    )
    def load(self, database: Database, actor: Actor) -> None:
        try:
            catalog = loyalty.comp_catalog(database.reader(actor), actor)
            policy = loyalty.overdraw_policy(database.reader(actor), actor)
            balance = loyalty.balance(database.reader(actor), actor, self.card.player_id)
        except BaseException:
            self.app.call_from_thread(setattr, self, "load_failed", True)
            raise  # the App notifies the failure, with its code
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, catalog, policy, balance.balance)

    def _loaded(self, catalog: list[CompView], policy: OverdrawPolicy, balance: int) -> None:
        self.clear_error()  # "still loading" / "reading it again" no longer holds
        self.catalog = {str(comp.id): comp for comp in catalog}
        self.policy = policy
        self.balance = balance
        options = self.query_one("#comp-catalog", OptionList)
        options.add_options(
            Option(
                Content(f"{comp.name} · {comp.category} · {points(comp.points_cost)}"),
                id=str(comp.id),
            )
            for comp in catalog
        )
        if catalog:
            options.highlighted = 1
            # The cost field is for custom comps only: start on the list, not in a field
            # that a catalog choice just disabled.
            if self.focused is None or self.focused.id == "comp-cost":
                options.focus()
        self._show_after()

    # -- the form ------------------------------------------------------------------------

    def chosen(self) -> CompView | None:
        """The catalog item highlighted, or None for a custom cost."""
        options = self.query_one("#comp-catalog", OptionList)
        if options.highlighted is None:
            return None
        option_id = options.get_option_at_index(options.highlighted).id
        return self.catalog.get(option_id or "")

    def cost(self) -> int:
        comp = self.chosen()
        if comp is not None:
            return comp.points_cost
        cost = whole_points(self.query_one("#comp-cost", Input).value, "points")
        if cost <= 0:
            raise ValueError("points: a comp costs at least 1 point")
        return cost

    @on(OptionList.OptionHighlighted, "#comp-catalog")
    def _highlighted(self) -> None:
        comp = self.chosen()
        field = self.query_one("#comp-cost", Input)
        if self.outcome is None:
            field.disabled = comp is not None
        if comp is not None:
            field.value = f"{comp.points_cost:,}"
        self._show_after()

    @on(OptionList.OptionSelected, "#comp-catalog")
    def _selected(self) -> None:
        target = "#comp-note" if self.chosen() is not None else "#comp-cost"
        self.query_one(target, Input).focus()

    @on(Input.Changed, "#comp-cost")
    def _cost_changed(self) -> None:
        self._show_after()

    def _show_after(self) -> None:
        line = self.query_one("#comp-after", Static)
        try:
            cost = self.cost()
        except ValueError:
            line.update(f"Balance {points(self.balance)}")
            line.set_class(False, "-error")
            return
        after = self.balance - cost
        text = f"Balance {points(self.balance)} → after {points(after)}"
        if after < 0 and self.policy is not None:
            text += f"  (overdraw {points(-after)} of the {points(self.policy.cap_points)} cap:"
            text += " needs approval)"
        line.update(text)
        line.set_class(after < 0, "-error")

    def _comp_label(self) -> str:
        comp = self.chosen()
        return comp.name if comp is not None else "Custom comp"

    # -- sending -------------------------------------------------------------------------

    def submit(self) -> None:
        if self.policy is None:
            if self.load_failed:
                self.load_failed = False
                self.load(self.session.database, self.session.signed_in())
                raise ValueError(
                    "The comp catalog could not be read; reading it again. Send once it shows."
                )
            raise ValueError("The comp catalog is still loading; try again in a moment.")
        cost = self.cost()
        if not self.typed("#comp-note"):
            raise ValueError("note: say why this comp is given (it is required)")
        if self.balance - cost < 0:
            self.ask_approval(cost)
        else:
            self.send_redeem(None)

    def ask_approval(
        self, cost: int, message: str | None = None, *, second_person: bool = False
    ) -> None:
        assert self.policy is not None
        actor = self.session.signed_in()
        request = OverdrawRequest(
            player_name=self.card.name,
            comp_label=self._comp_label(),
            balance=self.balance,
            cost=cost,
            cap=self.policy.cap_points,
            actor_label=f"{actor.staff_code} {actor.display_name}".strip(),
            actor_may_approve=self.policy.actor_may_approve,
            four_eyes=self.policy.four_eyes,
            message=message,
            second_person=second_person,
        )
        self.app.push_screen(ApprovalPrompt(request), self._approval_answered)

    def _approval_answered(self, approval: OverdrawApproval | None) -> None:
        if approval is None:
            self.show_error("Overdraw not approved: nothing was issued.")
            return
        self.send_redeem(approval)

    def send_redeem(self, approval: OverdrawApproval | None) -> None:
        comp = self.chosen()
        command = Redeem(
            player_id=self.card.player_id,
            points=None if comp is not None else self.cost(),
            comp_id=comp.id if comp is not None else None,
            note=self.typed("#comp-note"),
            reference=self.typed("#comp-reference") or None,
            visit_id=self.card.open_visit_id,
            allow_overdraw=approval is not None,
            approver=approval.approver if approval is not None else None,
            idempotency_key=self.idempotency_key,
        )
        self.approval = approval
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(lambda: loyalty.redeem(database.uow(actor), actor, command), self._done)

    def _failed(self, error: BaseException) -> None:
        super()._failed(error)
        if not isinstance(error, DomainError):
            return
        try:
            cost = self.cost()
        except ValueError:
            return
        if error.code is ErrorCode.LOYALTY_INSUFFICIENT_BALANCE:
            self.balance = int(error.details.get("balance", self.balance))
            self._show_after()
            self.ask_approval(cost, error.message)
        elif error.code in RETRY_APPROVAL and (
            self.approval is not None or error.code is ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED
        ):
            # A refused approver (or none where one is needed): ask again, same request key.
            self.ask_approval(cost, error.message, second_person=True)

    def _done(self, outcome: Redeemed) -> None:
        self.balance = outcome.balance_after
        name = outcome.comp_name or "Custom comp"
        lines = [
            f"Comp issued: {name}, {points(-outcome.points_delta)}",
            f"Balance {points(outcome.balance_before)} → {points(outcome.balance_after)}",
        ]
        if outcome.overdraw_applied:
            who = self.approval.label if self.approval is not None else "approver"
            lines.append(f"Overdraw applied: yes, approved by {who}")
        else:
            lines.append("Overdraw applied: no")
        if outcome.is_existing:
            lines.append("(This request was already issued; it was not charged twice.)")
        self.query_one("#comp-after", Static).display = False
        self.show_receipt(outcome, "\n".join(lines))
