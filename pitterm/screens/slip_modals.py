"""Rating-slip dialogs: start, change the average bet, move, and close with its accrual.

The close dialog shows, before anything changes, what the slip will be closed with: time
played net of pauses, the policy frozen at its start, theo and points. After the close it
shows what happened: the ledger entry and the new balance, or why nothing was minted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from pitterm.domain import slips
from pitterm.domain.accrual import PolicySnapshot
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.enums import SlipStatus, VisitKind
from pitterm.domain.floor import TableView
from pitterm.domain.slips import ChangeBet, ClosedSlip, MoveSlip, SlipRef, StartSlip, Suggestion
from pitterm.domain.validation import parse
from pitterm.screens.base import PitModal, session_of
from pitterm.screens.forms import FormModal, parse_seat, selected_uuid
from pitterm.widgets.formatting import dollars, percent
from pitterm.widgets.literal import literal
from pitterm.widgets.money_input import MoneyInput
from pitterm.widgets.play_format import KIND_LABELS, clock, points, spoken, theo

__all__ = [
    "ChangeBetForm",
    "CloseSlipModal",
    "MoveSlipForm",
    "SlipContext",
    "StartSlipForm",
]


@dataclass(frozen=True)
class SlipContext:
    """Who and where a slip (or a visit about to get one) is, as the floor shows it."""

    visit_id: uuid.UUID
    patron: str
    kind: VisitKind
    slip_id: uuid.UUID | None = None
    table_label: str | None = None
    seat: int | None = None
    status: SlipStatus | None = None
    average_bet_cents: int | None = None

    @property
    def where(self) -> str:
        if self.table_label is None:
            return "not seated"
        return f"{self.table_label} seat {self.seat}"

    def line(self) -> Content:
        """'Patron: Rita Hayworth (rated) · BJ-01 seat 3'."""
        return Content.assemble(
            ("Patron: ", "$text-muted"),
            (self.patron, "bold"),
            f" ({KIND_LABELS[self.kind]})",
            ("" if self.table_label is None else f" · {self.where}"),
        )


def _table_select(
    tables: Sequence[TableView], table_id: uuid.UUID | None, widget_id: str
) -> Select[str]:
    options = [
        (
            literal(
                f"{t.label} ({t.game_name}, {dollars(t.min_bet_cents)}–{dollars(t.max_bet_cents)})"
            ),
            str(t.id),
        )
        for t in tables
    ]
    known = {str(t.id) for t in tables}
    value = str(table_id) if table_id is not None and str(table_id) in known else Select.NULL
    return Select(options, prompt="Choose a table", value=value, id=widget_id)


class StartSlipForm(FormModal[SlipRef]):
    """Seat a gaming visit's patron at a table with an average bet: the slip starts now."""

    HELP = """
    Seat the visit's patron and start a rating slip: table, seat and average bet. The slip
    starts now; its time, theo and points then tick on the floor.
    """

    TITLE = "Start a rating slip"
    DESCRIPTION = "Start a rating slip"
    FIELD_IDS = {
        "table": "start-table",
        "table_id": "start-table",
        "seat": "start-seat",
        "average_bet_cents": "start-bet",
        "average bet": "start-bet",
    }

    def __init__(
        self,
        context: SlipContext,
        tables: Sequence[TableView],
        table_id: uuid.UUID | None = None,
        seat: int | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.tables = list(tables)
        self.table_id = table_id
        self.seat = seat

    def compose_fields(self) -> ComposeResult:
        yield Static(self.context.line(), classes="form-facts")
        if self.context.kind is VisitKind.GAMING_GHOST_UNRATED:
            yield Static(
                "Ghost play: theo is recorded, no points are minted.", classes="form-facts"
            )
        with Horizontal(classes="form-row"):
            yield Label("Table", classes="form-label")
            yield _table_select(self.tables, self.table_id, "start-table")
        with Horizontal(classes="form-row"):
            yield Label("Seat", classes="form-label")
            seat = "" if self.seat is None else str(self.seat)
            yield Input(seat, placeholder="1 to 14", restrict=r"[0-9]*", id="start-seat")
        with Horizontal(classes="form-row"):
            yield Label("Average bet", classes="form-label")
            yield MoneyInput(id="start-bet")

    def initial_focus(self) -> Widget | None:
        # With the table given by the floor, start at the first empty field after it.
        if self.table_id is not None:
            for widget in (
                self.query_one("#start-seat", Input),
                self.query_one("#start-bet", Input),
            ):
                if not widget.value:
                    return widget
        return super().initial_focus()

    def submit(self) -> None:
        table_id = selected_uuid(self.query_one("#start-table", Select))
        if table_id is None:
            raise ValueError("table: choose the table the patron plays at")
        seat = parse_seat(self.query_one("#start-seat", Input).value)
        try:
            bet = self.query_one("#start-bet", MoneyInput).cents()
        except ValueError as error:
            raise ValueError(f"average_bet_cents: {error}") from error
        command = parse(
            StartSlip,
            {
                "visit_id": self.context.visit_id,
                "table_id": table_id,
                "seat": seat,
                "average_bet_cents": bet,
                "idempotency_key": self.idempotency_key,
            },
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: slips.start_slip(session.database.uow(actor), actor, command), self.dismiss
        )


class ChangeBetForm(FormModal[SlipRef]):
    """A new average bet for a live slip; the slip keeps the history."""

    HELP = """
    Change the live slip's average bet. The slip keeps the history of its bets.
    """

    TITLE = "Change the average bet"
    DESCRIPTION = "Change the average bet"
    FIELD_IDS = {"average_bet_cents": "bet-amount", "average bet": "bet-amount"}

    def __init__(self, context: SlipContext) -> None:
        super().__init__()
        self.context = context

    def compose_fields(self) -> ComposeResult:
        yield Static(self.context.line(), classes="form-facts")
        current = self.context.average_bet_cents
        yield Static(
            f"Current average bet: {dollars(current) if current is not None else '—'}",
            classes="form-facts",
        )
        with Horizontal(classes="form-row"):
            yield Label("New average bet", classes="form-label")
            yield MoneyInput(id="bet-amount")

    def submit(self) -> None:
        assert self.context.slip_id is not None
        try:
            bet = self.query_one("#bet-amount", MoneyInput).cents()
        except ValueError as error:
            raise ValueError(f"average_bet_cents: {error}") from error
        command = parse(
            ChangeBet,
            {
                "slip_id": self.context.slip_id,
                "average_bet_cents": bet,
                "idempotency_key": self.idempotency_key,
            },
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: slips.change_bet(session.database.uow(actor), actor, command), self.dismiss
        )


class MoveSlipForm(FormModal[slips.Moved]):
    """Move the patron: the slip closes here (with accrual) and a new one opens there."""

    HELP = """
    Move the patron to another table or seat. The slip here closes (its points accrue for
    the time played) and a new slip starts at the new seat.
    """

    TITLE = "Move to another table or seat"
    DESCRIPTION = "Move a rating slip"
    FIELD_IDS = {"table": "move-table", "table_id": "move-table", "seat": "move-seat"}

    def __init__(self, context: SlipContext, tables: Sequence[TableView]) -> None:
        super().__init__()
        self.context = context
        self.tables = list(tables)

    def compose_fields(self) -> ComposeResult:
        yield Static(self.context.line(), classes="form-facts")
        yield Static(
            "The slip here closes now (points accrue if rated); a new slip starts at the new"
            " seat with the same average bet.",
            classes="form-facts",
        )
        current = next((t.id for t in self.tables if t.label == self.context.table_label), None)
        with Horizontal(classes="form-row"):
            yield Label("To table", classes="form-label")
            yield _table_select(self.tables, current, "move-table")
        with Horizontal(classes="form-row"):
            yield Label("Seat", classes="form-label")
            yield Input(placeholder="1 to 14", restrict=r"[0-9]*", id="move-seat")

    def submit(self) -> None:
        assert self.context.slip_id is not None
        table_id = selected_uuid(self.query_one("#move-table", Select))
        if table_id is None:
            raise ValueError("table: choose the table the patron moves to")
        seat = parse_seat(self.query_one("#move-seat", Input).value)
        command = parse(
            MoveSlip,
            {
                "slip_id": self.context.slip_id,
                "table_id": table_id,
                "seat": seat,
                "idempotency_key": self.idempotency_key,
            },
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: slips.move_slip(session.database.uow(actor), actor, command), self.dismiss
        )


class CloseSlipModal(PitModal[ClosedSlip | None]):
    """Preview the close (duration, frozen policy, theo, points), confirm, then show the result.

    Dismisses with the ``ClosedSlip`` once closed, or None if staff cancel before closing.
    """

    HELP = """
    Close the slip. The preview shows time played and paused, the average bet, the points
    policy frozen when the slip started, theo and points; confirming closes it with the
    figures recomputed at that moment and shows what was minted. Ghost (unrated) play mints
    no points. Cancelling keeps the slip open.
    """

    BINDINGS = [
        Binding(
            "y",
            "confirm",
            "Close slip",
            id="close_slip.confirm",
            tooltip="Close the slip now with the figures shown (recomputed at this moment).",
        ),
        Binding(
            "escape,n",
            "cancel",
            "Cancel",
            id="close_slip.cancel",
            tooltip="Keep the slip open.",
        ),
        Binding(
            "enter",
            "done",
            "Done",
            id="close_slip.done",
            tooltip="Close this dialog.",
        ),
    ]

    body = getters.query_one("#close-body", Static)
    outcome = getters.query_one("#close-outcome", Static)

    def __init__(self, context: SlipContext) -> None:
        super().__init__()
        self.context = context
        self.idempotency_key = uuid.uuid4()
        """Made when the dialog opens: confirming twice closes once."""
        self.preview: Suggestion | None = None
        self.closed: ClosedSlip | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="close-dialog", classes="dialog"):
            yield Label("Close rating slip", classes="dialog-title")
            yield Static(self.context.line(), classes="form-facts")
            yield Static("Reading the slip…", id="close-body")
            yield Static("", id="close-outcome")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close slip (y)", variant="primary", id="close-yes", disabled=True)
                yield Button("Cancel (n)", id="close-no")

    def on_mount(self) -> None:
        assert self.context.slip_id is not None
        session = session_of(self)
        self.load_preview(session.database, session.signed_in(), self.context.slip_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":
            return self.closed is None
        if action == "done":
            return self.closed is not None
        if action == "cancel":
            return True
        return True

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="close-preview",
        description="Read the slip's figures",
    )
    def load_preview(self, database: Database, actor: Actor, slip_id: uuid.UUID) -> None:
        preview = slips.suggestion(database.reader(actor), actor, slip_id)
        self.app.call_from_thread(self._show_preview, preview)

    def _show_preview(self, preview: Suggestion) -> None:
        if self.closed is not None:
            return
        self.preview = preview
        self.body.update(preview_text(preview))
        button = self.query_one("#close-yes", Button)
        button.disabled = False
        button.focus()

    @on(Button.Pressed, "#close-yes")
    def _yes(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#close-no")
    def _no(self) -> None:
        self.action_cancel()

    def action_confirm(self) -> None:
        if self.busy or self.closed is not None or self.preview is None:
            return
        assert self.context.slip_id is not None
        self.busy = True
        self.outcome.update("Closing…")
        self.outcome.display = True
        session = session_of(self)
        self.close(session.database, session.signed_in(), self.context.slip_id)

    @work(thread=True, exit_on_error=False, group="close-slip", description="Close a rating slip")
    def close(self, database: Database, actor: Actor, slip_id: uuid.UUID) -> None:
        command = slips.SlipCommand(slip_id=slip_id, idempotency_key=self.idempotency_key)
        try:
            closed = slips.close_slip(database.uow(actor), actor, command)
        except BaseException as error:
            self.app.call_from_thread(self._failed, error)
            raise
        self.app.call_from_thread(self._show_closed, closed)

    def _failed(self, error: BaseException) -> None:
        self.busy = False
        self.outcome.update(Content.styled(str(error), "$text-error"))

    def _show_closed(self, closed: ClosedSlip) -> None:
        self.busy = False
        self.closed = closed
        self.query_one(".dialog-title", Label).update("Rating slip closed")
        self.body.update(closed_text(closed))
        self.outcome.update(outcome_text(closed))
        self.query_one("#close-yes", Button).display = False
        no = self.query_one("#close-no", Button)
        no.label = "Done (Enter)"
        no.focus()
        self.refresh_bindings()

    def action_cancel(self) -> None:
        if self.busy:
            return
        self.dismiss(self.closed)

    def action_done(self) -> None:
        self.dismiss(self.closed)


def _rows(rows: list[tuple[str, str | Content]]) -> Content:
    lines = [Content.assemble((name.ljust(16), "$text-muted"), value) for name, value in rows]
    return Content("\n").join(lines)


def _policy(snapshot: PolicySnapshot) -> list[tuple[str, str | Content]]:
    return [
        ("House edge", percent(snapshot.house_edge)),
        ("Decisions/hour", str(snapshot.decisions_per_hour)),
        ("Conversion", f"{snapshot.points_conversion_rate.normalize():f} pts per $1 theo"),
        ("Rounding", snapshot.rounding.value.replace("_", " ")),
        ("Policy", snapshot.policy_version),
    ]


def preview_text(preview: Suggestion) -> Content:
    """What closing now would record: time, bet, the frozen policy, theo and points."""
    rows: list[tuple[str, str | Content]] = [
        ("Played", f"{clock(preview.played_seconds)} ({spoken(preview.played_seconds)})"),
        ("Paused", f"{clock(preview.paused_seconds)} (not counted)"),
        ("Average bet", dollars(preview.average_bet_cents)),
        *_policy(preview.snapshot),
        ("Theo", theo(preview.theo)),
    ]
    if preview.rated:
        rows.append(("Points", Content.styled(points(preview.points), "bold $text-success")))
        note = "Figures as of now; closing recomputes them at the moment you confirm."
    else:
        rows.append(("Points", Content.styled("none: unrated ghost play", "bold $text-warning")))
        note = (
            "No points will be minted: ghost play is unrated. Theo is recorded for finance"
            " and compliance."
        )
    return Content("\n\n").join([_rows(rows), Content.styled(note, "$text-muted")])


def closed_text(closed: ClosedSlip) -> Content:
    rows: list[tuple[str, str | Content]] = [
        ("Played", f"{clock(closed.played_seconds)} ({spoken(closed.played_seconds)})"),
        ("Paused", f"{clock(closed.paused_seconds)} (not counted)"),
        ("Average bet", dollars(closed.average_bet_cents)),
        *_policy(closed.snapshot),
        ("Theo", theo(closed.theo)),
    ]
    return _rows(rows)


def outcome_text(closed: ClosedSlip) -> Content:
    """The ledger entry and new balance, or plainly why no points were minted."""
    if closed.minted and closed.ledger_entry_id is not None:
        balance = "—" if closed.balance_after is None else points(closed.balance_after)
        return _rows(
            [
                ("Minted", Content.styled(points(closed.points), "bold $text-success")),
                ("Ledger entry", str(closed.ledger_entry_id)),
                ("New balance", Content.styled(balance, "bold")),
            ]
        )
    reason = closed.not_minted_reason or "No points were minted for this slip."
    return Content.assemble(("No points minted. ", "bold $text-warning"), reason)
