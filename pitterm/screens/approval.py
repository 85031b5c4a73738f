"""The overdraw approval prompt: the overdraw against the cap, and who approves it.

A comp that would take a balance below zero needs a pit boss's or an admin's approval
(DESIGN §6). If the signed-in staff member may approve (and the casino does not insist on
four eyes), the prompt asks them to confirm; otherwise a second staff member types their own
code and PIN here. Past the cap there is nothing to approve: the prompt says so and only
closes. The prompt checks nothing itself — the comp service checks the PIN and the role,
and a refusal comes back here as ``message`` for another try with the same request key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from pitterm.domain.auth import Credentials, parse_credentials
from pitterm.domain.errors import DomainError
from pitterm.screens.base import PitModal
from pitterm.widgets.play_format import points


@dataclass(frozen=True)
class OverdrawRequest:
    """What the prompt shows: the comp, the balance it overdraws, the cap, who may approve."""

    player_name: str
    comp_label: str
    balance: int
    cost: int
    cap: int
    actor_label: str
    """The signed-in staff member, 'PB1 Pat Boss'."""
    actor_may_approve: bool
    """The signed-in role may approve and four-eyes is off: a confirmation is enough."""
    four_eyes: bool
    message: str | None = None
    """Why the last try was refused (wrong PIN, approver not allowed), shown in red."""
    second_person: bool = False
    """Ask for a second staff member even if the actor may approve (after such a refusal)."""

    @property
    def balance_after(self) -> int:
        return self.balance - self.cost

    @property
    def overdraw(self) -> int:
        return max(0, -self.balance_after)

    @property
    def within_cap(self) -> bool:
        return self.overdraw <= self.cap

    @property
    def self_approval(self) -> bool:
        return self.actor_may_approve and not self.second_person


@dataclass(frozen=True)
class OverdrawApproval:
    """An approval to send with the comp: none (the actor approves) or another's code + PIN."""

    approver: Credentials | None
    label: str
    """Who approved, for the receipt: the approver's code, or the actor."""


class ApprovalPrompt(PitModal[OverdrawApproval | None]):
    """Dismisses with the approval to send, or None (declined, refused past the cap, Escape)."""

    HELP = """
    A comp would take the player's balance below zero, and the prompt shows by how much
    against the casino's overdraw cap. If you may approve it yourself (pit boss or admin, and
    the casino does not ask for a second person), confirm; otherwise a second pit boss or
    admin types their staff code and PIN here. Past the cap nothing can be approved: close it
    and issue a smaller comp. Cancelling issues nothing.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "y",
            "approve",
            "Approve",
            id="approval.approve",
            tooltip="Approve this overdraw yourself (pit boss or admin).",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="approval.cancel",
            tooltip="Do not overdraw; the comp is not issued.",
        ),
    ]

    def __init__(self, request: OverdrawRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        request = self.request
        with Vertical(id="approval-dialog", classes="dialog"):
            yield Label("Overdraw approval", classes="dialog-title")
            yield Static(
                f"{request.comp_label} for {request.player_name}\n"
                f"Balance {points(request.balance)} − cost {points(request.cost)}"
                f" = {points(request.balance_after)}",
                classes="dialog-body",
                markup=False,
            )
            yield Static(self._cap_line(), id="approval-cap")
            if not request.within_cap:
                yield Static(
                    f"Refused: this comp would overdraw by {points(request.overdraw)}, past the"
                    f" casino's cap of {points(request.cap)}. It cannot be issued.",
                    id="approval-refusal",
                )
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Close (Esc)", id="approval-close")
                return
            if request.self_approval:
                yield Static(
                    f"{request.actor_label}, you may approve this overdraw yourself.",
                    id="approval-who",
                    markup=False,
                )
            else:
                reason = (
                    "This casino requires a second person to approve overdraw."
                    if request.four_eyes
                    else "A pit boss or an admin must approve this overdraw."
                )
                yield Static(f"{reason} Approver: type your staff code and PIN.", id="approval-who")
                with Horizontal(classes="approval-row"):
                    yield Label("Staff code", classes="approval-label")
                    yield Input(placeholder="e.g. PB1", max_length=16, id="approval-code")
                with Horizontal(classes="approval-row"):
                    yield Label("PIN", classes="approval-label")
                    yield Input(
                        placeholder="PIN",
                        password=True,
                        max_length=8,
                        restrict=r"[0-9]*",
                        id="approval-pin",
                    )
            yield Static(
                request.message or "", id="approval-message", classes="-error", markup=False
            )
            with Horizontal(classes="dialog-buttons"):
                label = "Approve (y)" if request.self_approval else "Approve (Enter)"
                yield Button(label, variant="warning", id="approval-yes")
                yield Button("Cancel (Esc)", id="approval-no")

    def _cap_line(self) -> str:
        request = self.request
        used = request.overdraw / request.cap if request.cap else 1.0
        width = 20
        filled = min(width, round(used * width))
        bar = "█" * filled + "░" * (width - filled)
        return (
            f"Overdraw {points(request.overdraw)} of the {points(request.cap)} cap"
            f"  {bar} {used:.0%}"
        )

    def on_mount(self) -> None:
        if self.request.within_cap and not self.request.self_approval:
            self.query_one("#approval-code", Input).focus()
        elif self.request.within_cap:
            self.query_one("#approval-yes", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "approve":
            return self.request.within_cap and self.request.self_approval
        return True

    def action_approve(self) -> None:
        if self.request.within_cap and self.request.self_approval:
            self.dismiss(OverdrawApproval(approver=None, label=self.request.actor_label))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#approval-code")
    def _code_entered(self) -> None:
        self.query_one("#approval-pin", Input).focus()

    @on(Input.Submitted, "#approval-pin")
    def _pin_entered(self) -> None:
        self._send_credentials()

    @on(Button.Pressed, "#approval-yes")
    def _yes(self) -> None:
        if self.request.self_approval:
            self.action_approve()
        else:
            self._send_credentials()

    @on(Button.Pressed, "#approval-no, #approval-close")
    def _no(self) -> None:
        self.dismiss(None)

    def _send_credentials(self) -> None:
        code = self.query_one("#approval-code", Input).value
        pin = self.query_one("#approval-pin", Input).value
        try:
            credentials = parse_credentials(code, pin)
        except DomainError as error:
            self.query_one("#approval-message", Static).update(error.message)
            return
        self.dismiss(OverdrawApproval(approver=credentials, label=credentials.staff_code))
