"""Coupon dialogs of Promo mode: issue, look up by number, the coupon's card, void, replace.

A validation number is checked with ``promo_numbers`` as it is typed in, before any service
call, so a mistyped number says what is wrong with it instead of "not found". A newly
issued (or replacement) coupon's number is shown large, in spaced groups, to be read aloud
or copied onto the coupon.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Select, Static

from pitterm.domain import promo, promo_numbers
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.players import PlayerSummary
from pitterm.domain.promo import (
    CouponIssued,
    CouponReplaced,
    CouponView,
    CouponVoided,
    ProgramView,
)
from pitterm.domain.promo_rules import CouponStatus, ProgramStatus, PromoType
from pitterm.screens.base import PitModal, session_of
from pitterm.screens.forms import FormModal
from pitterm.screens.player_picker import PlayerPicker
from pitterm.widgets.formatting import dollars
from pitterm.widgets.ledger_text import local_time
from pitterm.widgets.literal import literal
from pitterm.widgets.money_input import MoneyInput
from pitterm.widgets.play_format import toned

__all__ = [
    "BigNumber",
    "CouponModal",
    "IssueCouponForm",
    "LookupForm",
    "ReplaceForm",
    "VoidForm",
    "coupon_facts",
    "parse_local",
    "program_status_cell",
    "spaced",
    "status_cell",
    "status_label",
    "typed_number",
]

STATUS_STYLES = {
    CouponStatus.ISSUED: "bold $text-success",
    CouponStatus.VOIDED: "bold $text-error",
    CouponStatus.REPLACED: "bold $text-warning",
    CouponStatus.EXPIRED: "$text-muted",
}


def status_label(status: CouponStatus) -> Content:
    """'issued' in green, 'voided' in red, 'replaced' in amber, 'expired' muted."""
    return Content.styled(status.value, STATUS_STYLES[status])


_STATUS_TONES = {
    CouponStatus.ISSUED: "text-success",
    CouponStatus.VOIDED: "text-error",
    CouponStatus.REPLACED: "text-warning",
    CouponStatus.EXPIRED: None,
}

_PROGRAM_TONES = {
    ProgramStatus.ACTIVE: "text-success",
    ProgramStatus.PAUSED: "text-warning",
    ProgramStatus.DRAFT: "text-primary",
    ProgramStatus.ENDED: None,
}


def status_cell(app: App[object], status: CouponStatus) -> Text:
    """``status_label`` for a table cell."""
    return toned(app, status.value, _STATUS_TONES[status])


def program_status_cell(app: App[object], status: ProgramStatus) -> Text:
    """A program's status for a table cell: active green, paused amber, ended dim."""
    return toned(app, status.value, _PROGRAM_TONES[status])


def spaced(number: str) -> str:
    """'MP-7K3Q-9XDA-4' → 'M P   7 K 3 Q   9 X D A   4': one letter at a time, aloud."""
    return "   ".join(" ".join(group) for group in number.split("-"))


def typed_number(text: str, field: str, *, required: bool) -> str | None:
    """A typed validation number in its canonical spelling, checked before any service call.

    ValueError names the field and says what is wrong (format, or a mistyped character).
    """
    if not text.strip():
        if required:
            raise ValueError(f"{field}: type the number printed on the coupon")
        return None
    try:
        return promo_numbers.parse(text).text
    except promo_numbers.NumberCheckError as error:
        raise ValueError(
            f"{field}: {text.strip()} is not a valid number — {error}. Re-read the coupon."
        ) from None
    except promo_numbers.InvalidNumber as error:
        raise ValueError(f"{field}: {error}") from None


def parse_local(text: str, time_zone: str, field: str, *, end_of_day: bool = False) -> datetime:
    """'2026-12-31' or '2026-12-31 18:00' in the casino's zone, as an aware time.

    A bare date means its midnight (or, with ``end_of_day``, the next day's midnight)."""
    text = text.strip()
    zone = ZoneInfo(time_zone)
    try:
        if len(text) <= 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            moment = datetime.combine(day, time(0), zone)
            if end_of_day:
                moment = datetime.combine(day.fromordinal(day.toordinal() + 1), time(0), zone)
            return moment
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    except ValueError:
        raise ValueError(
            f"{field}: {text!r} is not a date and time (YYYY-MM-DD or YYYY-MM-DD HH:MM)"
        ) from None


def coupon_facts(coupon: CouponView, time_zone: str | None) -> Content:
    """The coupon's card: program, amounts, who it went to, and what happened to it."""

    def row(label: str, value: str | Content) -> Content:
        return Content.assemble((f"{label:<14}", "$text-muted"), value)

    lines = [
        row("Status", status_label(coupon.status)),
        row("Program", f"{coupon.program_name} ({coupon.promo_type.label})"),
        row("Face value", dollars(coupon.face_value_cents)),
    ]
    if coupon.promo_type is PromoType.MATCH_PLAY:
        lines.append(row("Match wager", dollars(coupon.required_match_wager_cents)))
    lines += [
        row("Player", coupon.player_name or "anonymous"),
        row(
            "Issued",
            f"{local_time(coupon.issued_at, time_zone)} by {coupon.issued_by_code or '—'}",
        ),
        row("Expires", local_time(coupon.expires_at, time_zone)),
    ]
    if coupon.voided_at is not None:
        lines.append(
            row(
                "Voided",
                f"{local_time(coupon.voided_at, time_zone)} by {coupon.voided_by_code or '—'}:"
                f" {coupon.void_reason or ''}",
            )
        )
    if coupon.replaced_at is not None:
        lines.append(
            row(
                "Replaced",
                f"{local_time(coupon.replaced_at, time_zone)} by"
                f" {coupon.replaced_by_code or '—'}: {coupon.replace_reason or ''}",
            )
        )
        if coupon.replaced_by_number:
            lines.append(row("Replaced by", coupon.replaced_by_number))
    if coupon.replaces_number:
        lines.append(row("Replaces", coupon.replaces_number))
    return Content("\n").join(lines)


class BigNumber(Static):
    """A validation number, large enough to read aloud: bold, spaced, in a heavy border."""

    DEFAULT_CSS = """
    BigNumber {
        width: 100%;
        height: 5;
        content-align: center middle;
        text-style: bold;
        border: heavy $accent;
        color: $text-accent;
        background: $boost;
    }
    """

    def __init__(self, number: str, *, caption: str = "Validation number", id: str | None = None):
        super().__init__(spaced(number), id=id, markup=False)
        self.number = number
        self.border_title = caption
        self.border_subtitle = number


# -- issue ---------------------------------------------------------------------------------


class IssueCouponForm(FormModal[CouponIssued]):
    """Program, face value, match wager (match play), optional player, expiry; then the number."""

    HELP = """
    Issue a coupon from an active program: face value, the wager it must be matched with
    (match play), the player if there is one, and the expiry. Once issued, its validation
    number is shown large, to read aloud or write on the coupon.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *FormModal.BINDINGS,
        Binding(
            "f9",
            "pick_player",
            "Choose player",
            id="issue.player",
            tooltip="Issue the coupon to a player (find them by card, birth date or name).",
        ),
        Binding(
            "enter",
            "done",
            "Done",
            id="issue.done",
            tooltip="Close this dialog.",
        ),
    ]
    TITLE = "Issue a coupon"
    DESCRIPTION = "Issue a coupon"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "program_id": "issue-program",
        "face_value_cents": "issue-face",
        "required_match_wager_cents": "issue-wager",
        "expires_at": "issue-expires",
        "validation_number": "issue-number",
    }

    def __init__(self, programs: list[ProgramView], time_zone: str) -> None:
        super().__init__()
        self.programs = {str(p.id): p for p in programs if p.issuable_now}
        self.time_zone = time_zone
        self.player: PlayerSummary | None = None
        """The chosen player, or None for an anonymous coupon."""
        self.issued: CouponIssued | None = None

    def compose_fields(self) -> ComposeResult:
        with Vertical(id="issue-fields"):
            with Horizontal(classes="form-row"):
                yield Label("Program", classes="form-label")
                yield Select(
                    [
                        (literal(f"{p.name} ({p.promo_type.label})"), key)
                        for key, p in self.programs.items()
                    ],
                    prompt="Choose an active program",
                    id="issue-program",
                )
            with Horizontal(classes="form-row"):
                yield Label("Face value", classes="form-label")
                yield MoneyInput(id="issue-face")
            with Horizontal(classes="form-row", id="issue-wager-row"):
                yield Label("Match wager", classes="form-label")
                yield MoneyInput(id="issue-wager", placeholder="blank: same as the face value")
            with Horizontal(classes="form-row"):
                yield Label("Expires", classes="form-label")
                yield Input(placeholder="YYYY-MM-DD HH:MM (blank: program end)", id="issue-expires")
            with Horizontal(classes="form-row"):
                yield Label("Pre-printed no.", classes="form-label")
                yield Input(
                    placeholder=f"blank: pitterm makes one (like {promo_numbers.EXAMPLE})",
                    id="issue-number",
                )
            yield Static(  # it names the chosen player
                "Player: anonymous · F9: choose a player", id="issue-player", markup=False
            )
        yield Vertical(id="issue-result")

    def hint(self) -> str:
        return "Enter: next field / issue · F9: player · Ctrl+S: issue · Escape: cancel"

    def on_mount(self) -> None:
        self._show_wager()
        if not self.programs:
            self.show_error("No program is active and open for issuing right now.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "done":
            return self.issued is not None
        if action in {"submit", "pick_player"}:
            return self.issued is None
        return True

    def _program(self) -> ProgramView | None:
        value = self.query_one("#issue-program", Select).value
        return self.programs.get(value) if isinstance(value, str) else None

    @on(Select.Changed, "#issue-program")
    def _show_wager(self) -> None:
        program = self._program()
        match = program is None or program.promo_type is PromoType.MATCH_PLAY
        self.query_one("#issue-wager-row").display = match
        self.query_one("#issue-wager", MoneyInput).disabled = not match  # out of the Enter chain

    def action_pick_player(self) -> None:
        def picked(player: PlayerSummary | None) -> None:
            if player is not None:
                self.player = player
                self.query_one("#issue-player", Static).update(
                    f"Player: {player.name} · F9: choose another"
                )

        self.app.push_screen(PlayerPicker("Issue the coupon to which player?"), picked)

    def submit(self) -> None:
        if self.issued is not None:
            return
        program = self._program()
        if program is None:
            raise ValueError("program_id: choose the program the coupon comes from")
        face_field = self.query_one("#issue-face", MoneyInput)
        try:
            face = face_field.cents()
        except ValueError as error:
            raise ValueError(f"face_value_cents: {error}") from error
        wager = 0
        if program.promo_type is PromoType.MATCH_PLAY:
            wager_field = self.query_one("#issue-wager", MoneyInput)
            try:
                wager = wager_field.cents() if wager_field.value.strip() else face
            except ValueError as error:
                raise ValueError(f"required_match_wager_cents: {error}") from error
        expires_text = self.query_one("#issue-expires", Input).value
        expires = (
            parse_local(expires_text, self.time_zone, "expires_at")
            if expires_text.strip()
            else None
        )
        number = typed_number(
            self.query_one("#issue-number", Input).value, "validation_number", required=False
        )
        command = promo.IssueCoupon(
            program_id=program.id,
            face_value_cents=face,
            required_match_wager_cents=wager,
            player_id=self.player.id if self.player else None,
            expires_at=expires,
            validation_number=number,
            idempotency_key=self.idempotency_key,
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: promo.issue_coupon(session.database.uow(actor), actor, command), self._issued
        )

    def _issued(self, issued: CouponIssued) -> None:
        self.issued = issued
        fields = self.query_one("#issue-fields")
        for widget in fields.query("Input, Select"):
            widget.disabled = True
        fields.display = False
        result = self.query_one("#issue-result", Vertical)
        coupon = issued.coupon
        result.mount(BigNumber(coupon.validation_number, caption="Issued — read this number aloud"))
        result.mount(Static(coupon_facts(coupon, self.time_zone), classes="promo-coupon-facts"))
        self.query_one(".form-hint", Static).update("Enter or Escape: close")
        self.set_focus(None)
        self.refresh_bindings()

    def action_cancel(self) -> None:
        self.dismiss(self.issued)

    def action_done(self) -> None:
        self.dismiss(self.issued)


# -- look up -------------------------------------------------------------------------------


class LookupForm(FormModal[CouponView]):
    """Type a coupon's validation number; a mistyped one is caught before the search."""

    HELP = """
    Find a coupon by its validation number. A number that cannot be right is caught before
    the search; the coupon's card then opens.
    """

    TITLE = "Look up a coupon"
    DESCRIPTION = "Look up a coupon"
    FIELD_IDS: ClassVar[dict[str, str]] = {"validation_number": "lookup-number"}

    def compose_fields(self) -> ComposeResult:
        yield Static(
            f"Type the number printed on the coupon, like {promo_numbers.EXAMPLE}."
            " Hyphens and spaces are optional; it has no 0, O, 1 or I.",
            classes="dialog-body",
        )
        with Horizontal(classes="form-row"):
            yield Label("Number", classes="form-label")
            yield Input(placeholder=promo_numbers.EXAMPLE, id="lookup-number")

    def submit(self) -> None:
        number = typed_number(
            self.query_one("#lookup-number", Input).value, "validation_number", required=True
        )
        assert number is not None
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: promo.lookup(session.database.reader(actor), actor, number), self.dismiss
        )


# -- the coupon, void and replace ----------------------------------------------------------


class CouponModal(PitModal[bool]):
    """One coupon's card; void (v) and replace (r) for staff who manage promotions.

    Dismisses with True when the coupon was changed, so the caller reads its lists again.
    """

    HELP = """
    One coupon: program, face value, match wager, player, status and what happened to it.
    Staff who manage promotions may void an outstanding coupon (final) or replace one that was
    lost or torn (same terms, a new number).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "v",
            "void",
            "Void",
            id="coupon.void",
            tooltip="Void this coupon, with a reason. Final.",
        ),
        Binding(
            "r",
            "replace",
            "Replace",
            id="coupon.replace",
            tooltip="Replace this coupon (lost, torn): same terms, a new number.",
        ),
        Binding(
            "escape",
            "close",
            "Close",
            id="coupon.close",
            tooltip="Back to Promo mode.",
        ),
    ]

    def __init__(self, coupon: CouponView, time_zone: str | None) -> None:
        super().__init__()
        self.coupon = coupon
        self.time_zone = time_zone
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="coupon-dialog"):
            yield Label("Coupon", classes="dialog-title")
            yield BigNumber(self.coupon.validation_number, id="coupon-number")
            yield Static("", id="coupon-facts", classes="promo-coupon-facts")
            yield Static("", classes="form-hint", id="coupon-hint")

    def on_mount(self) -> None:
        self._show()

    def _may_manage(self) -> bool:
        actor = session_of(self).actor
        return actor is not None and can(actor.role, Capability.MANAGE_PROMO)

    def _show(self) -> None:
        self.query_one("#coupon-facts", Static).update(coupon_facts(self.coupon, self.time_zone))
        if not self._may_manage():
            hint = "Void and replace are for pit bosses and loyalty managers · Escape: close"
        elif self.coupon.outstanding:
            hint = "v: void · r: replace · Escape: close"
        else:
            hint = f"This coupon is {self.coupon.status.value}: nothing more to do · Escape: close"
        self.query_one("#coupon-hint", Static).update(hint)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"void", "replace"}:
            if not self._may_manage():
                return False
            return True if self.coupon.outstanding else None
        return True

    def action_void(self) -> None:
        def voided(result: CouponVoided | None) -> None:
            if result is not None:
                self.coupon = result.coupon
                self.changed = True
                self._show()
                self.notify(f"Coupon {result.coupon.validation_number} voided.", title="Voided")

        self.app.push_screen(VoidForm(self.coupon), voided)

    def action_replace(self) -> None:
        def replaced(result: CouponReplaced | None) -> None:
            if result is not None:
                self.coupon = result.replaced
                self.changed = True
                self._show()

        self.app.push_screen(ReplaceForm(self.coupon, self.time_zone), replaced)

    def action_close(self) -> None:
        self.dismiss(self.changed)


class VoidForm(FormModal[CouponVoided]):
    """Void an outstanding coupon; the reason is required and stored with it."""

    HELP = """
    Void an outstanding coupon. The reason is required and kept with it. A voided coupon
    cannot be used, and the void cannot be undone.
    """

    TITLE = "Void a coupon"
    DESCRIPTION = "Void the coupon"
    FIELD_IDS: ClassVar[dict[str, str]] = {"reason": "void-reason"}

    def __init__(self, coupon: CouponView) -> None:
        super().__init__()
        self.coupon = coupon

    def compose_fields(self) -> ComposeResult:
        yield Static(
            f"{self.coupon.validation_number} · {self.coupon.program_name} ·"
            f" {dollars(self.coupon.face_value_cents)}. A void is final.",
            classes="form-facts",
            markup=False,
        )
        with Horizontal(classes="form-row"):
            yield Label("Reason", classes="form-label")
            yield Input(placeholder="why this coupon is voided (required)", id="void-reason")

    def submit(self) -> None:
        reason = self.query_one("#void-reason", Input).value.strip()
        if not reason:
            raise ValueError("reason: a void needs a reason")
        command = promo.VoidCoupon(
            coupon_id=self.coupon.id, reason=reason, idempotency_key=self.idempotency_key
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: promo.void_coupon(session.database.uow(actor), actor, command), self.dismiss
        )


class ReplaceForm(FormModal[CouponReplaced]):
    """Replace an outstanding coupon with a reason; then show the new number large."""

    HELP = """
    Replace an outstanding coupon that was lost or torn: give the reason (and the new
    coupon's number, if it comes from printed stock). The old coupon is voided and a new one
    with the same terms is issued; its number is shown large.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *FormModal.BINDINGS,
        Binding("enter", "done", "Done", id="replace.done", tooltip="Close this dialog."),
    ]
    TITLE = "Replace a coupon"
    DESCRIPTION = "Replace the coupon"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "reason": "replace-reason",
        "validation_number": "replace-number",
    }

    def __init__(self, coupon: CouponView, time_zone: str | None) -> None:
        super().__init__()
        self.coupon = coupon
        self.time_zone = time_zone
        self.replaced: CouponReplaced | None = None

    def compose_fields(self) -> ComposeResult:
        with Vertical(id="replace-fields"):
            yield Static(
                f"{self.coupon.validation_number} · {self.coupon.program_name} ·"
                f" {dollars(self.coupon.face_value_cents)}. The new coupon keeps its terms.",
                classes="form-facts",
                markup=False,
            )
            with Horizontal(classes="form-row"):
                yield Label("Reason", classes="form-label")
                yield Input(placeholder="lost, torn, misprinted… (required)", id="replace-reason")
            with Horizontal(classes="form-row"):
                yield Label("Pre-printed no.", classes="form-label")
                yield Input(placeholder="blank: pitterm makes one", id="replace-number")
        yield Vertical(id="replace-result")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "done":
            return self.replaced is not None
        if action == "submit":
            return self.replaced is None
        return True

    def submit(self) -> None:
        if self.replaced is not None:
            return
        reason = self.query_one("#replace-reason", Input).value.strip()
        if not reason:
            raise ValueError("reason: a replacement needs a reason")
        number = typed_number(
            self.query_one("#replace-number", Input).value, "validation_number", required=False
        )
        command = promo.ReplaceCoupon(
            coupon_id=self.coupon.id,
            reason=reason,
            validation_number=number,
            idempotency_key=self.idempotency_key,
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: promo.replace_coupon(session.database.uow(actor), actor, command),
            self._replaced,
        )

    def _replaced(self, replaced: CouponReplaced) -> None:
        self.replaced = replaced
        fields = self.query_one("#replace-fields")
        for widget in fields.query(Input):
            widget.disabled = True
        fields.display = False
        result = self.query_one("#replace-result", Vertical)
        new = replaced.replacement
        result.mount(BigNumber(new.validation_number, caption="Replacement — read this aloud"))
        result.mount(
            Static(
                f"{self.coupon.validation_number} is now replaced; hand the patron the new coupon.",
                classes="promo-coupon-facts",
            )
        )
        self.query_one(".form-hint", Static).update("Enter or Escape: close")
        self.set_focus(None)
        self.refresh_bindings()

    def action_cancel(self) -> None:
        self.dismiss(self.replaced)

    def action_done(self) -> None:
        self.dismiss(self.replaced)
