"""Record a buy-in or a cash-out on a visit, then show the patron's day against the CTR line."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, Static

from pitterm.domain import cash
from pitterm.domain.cash import CashRecorded, PatronTotals, RecordCash
from pitterm.domain.ctr import CtrStatus
from pitterm.domain.enums import CashDirection
from pitterm.domain.validation import parse
from pitterm.screens.forms import FormModal
from pitterm.screens.slip_modals import SlipContext
from pitterm.widgets.formatting import dollars
from pitterm.widgets.money_input import MoneyInput
from pitterm.widgets.play_format import toned

__all__ = ["CashForm", "ctr_cell", "ctr_label", "direction_label"]


def direction_label(direction: CashDirection) -> str:
    return "Buy-in (cash in)" if direction is CashDirection.CASH_IN else "Cash-out"


def ctr_label(status: CtrStatus) -> Content:
    """'CTR due' in the error colour, 'near CTR' in the warning colour, 'ok' muted."""
    if status is CtrStatus.DUE:
        return Content.styled("CTR due", "bold $text-error")
    if status is CtrStatus.NEAR:
        return Content.styled("near CTR", "bold $text-warning")
    return Content.styled("ok", "$text-muted")


def ctr_cell(app: App[object], status: CtrStatus) -> Text:
    """``ctr_label`` for a table cell."""
    if status is CtrStatus.DUE:
        return toned(app, "CTR due", "text-error")
    if status is CtrStatus.NEAR:
        return toned(app, "near CTR", "text-warning")
    return toned(app, "ok", None)


class CashForm(FormModal[CashRecorded]):
    """Amount in dollars; once recorded, the day's totals and CTR/MTL status stay on screen."""

    HELP = """
    Record cash on the highlighted visit: a buy-in (cash in) or a cash-out, in dollars. Once
    saved, the patron's totals for the gaming day stay on screen against the CTR threshold,
    with any warning and the MTL line. Ghost patrons count like anyone: cash is about the
    person at the table, not the loyalty card.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *FormModal.BINDINGS,
        Binding(
            "enter",
            "done",
            "Done",
            id="cash.done",
            tooltip="Close this dialog.",
        ),
    ]
    DESCRIPTION = "Record a cash transaction"
    FIELD_IDS = {"amount_cents": "cash-amount"}

    def __init__(self, context: SlipContext, direction: CashDirection) -> None:
        super().__init__()
        self.context = context
        self.direction = direction
        self.recorded: CashRecorded | None = None

    def form_title(self) -> str:
        return f"Record {direction_label(self.direction).lower()}"

    def compose_fields(self) -> ComposeResult:
        yield Static(self.context.line(), classes="form-facts")
        with Horizontal(classes="form-row"):
            yield Label("Amount", classes="form-label")
            yield MoneyInput(id="cash-amount")
        yield Static("", id="cash-result")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "done":
            return self.recorded is not None
        if action == "submit":
            return self.recorded is None
        return True

    def submit(self) -> None:
        if self.recorded is not None:
            return
        try:
            amount = self.query_one("#cash-amount", MoneyInput).cents()
        except ValueError as error:
            raise ValueError(f"amount_cents: {error}") from error
        command = parse(
            RecordCash,
            {
                "visit_id": self.context.visit_id,
                "direction": self.direction,
                "amount_cents": amount,
                "idempotency_key": self.idempotency_key,
            },
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: cash.record_cash(session.database.uow(actor), actor, command), self._recorded
        )

    def _recorded(self, recorded: CashRecorded) -> None:
        self.recorded = recorded
        amount = self.query_one("#cash-amount", MoneyInput)
        amount.disabled = True
        self.query_one("#cash-result", Static).update(result_text(recorded))
        self.query_one(".form-hint", Static).update("Enter or Escape: close")
        self.set_focus(None)
        self.refresh_bindings()
        worst = recorded.totals.worst
        if worst is not CtrStatus.OK:
            self.notify(
                f"{recorded.totals.patron}: {ctr_sentence(recorded.totals)}",
                title="CTR watch",
                severity="error" if worst is CtrStatus.DUE else "warning",
                timeout=10,
            )

    def action_cancel(self) -> None:
        self.dismiss(self.recorded)

    def action_done(self) -> None:
        self.dismiss(self.recorded)


def ctr_sentence(totals: PatronTotals) -> str:
    parts = []
    for label, cents, status in (
        ("cash in", totals.cash_in_cents, totals.cash_in_status),
        ("cash out", totals.cash_out_cents, totals.cash_out_status),
    ):
        if status is CtrStatus.DUE:
            parts.append(f"{label} {dollars(cents)} today is over the CTR threshold: a CTR is due")
        elif status is CtrStatus.NEAR:
            parts.append(f"{label} {dollars(cents)} today is near the CTR threshold")
    return "; ".join(parts) + "."


def result_text(recorded: CashRecorded) -> Content:
    totals = recorded.totals
    lines = [
        Content.styled(f"Recorded for gaming day {recorded.gaming_day:%a %d %b %Y}.", "bold"),
        Content.assemble(
            ("Cash in today   ", "$text-muted"),
            dollars(totals.cash_in_cents).ljust(14),
            ctr_label(totals.cash_in_status),
        ),
        Content.assemble(
            ("Cash out today  ", "$text-muted"),
            dollars(totals.cash_out_cents).ljust(14),
            ctr_label(totals.cash_out_status),
        ),
    ]
    if recorded.mtl_line:
        lines.append(Content("At or above the MTL floor: a multiple-transaction-log line is made."))
    if totals.worst is not CtrStatus.OK:
        lines.append(Content.styled(ctr_sentence(totals), "$text-warning"))
    return Content("\n").join(lines)
