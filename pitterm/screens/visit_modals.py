"""Visit dialogs: open a ghost visit, and the manual credit offered after a ghost association.

Identified visits need no form: the floor picks the player with ``PlayerPicker`` and opens
the visit. Closing and converting a visit are yes/no questions (``ConfirmScreen``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static

from pitterm.domain import loyalty, visits
from pitterm.domain.enums import VisitKind
from pitterm.domain.floor import TableView
from pitterm.domain.loyalty import Credited, ManualCredit
from pitterm.domain.players import PlayerSummary
from pitterm.domain.validation import parse
from pitterm.domain.visits import OpenVisit, VisitOpened
from pitterm.screens.forms import FormModal, parse_seat, selected_uuid
from pitterm.widgets.literal import literal

__all__ = ["GhostVisitForm", "ManualCreditForm"]


class GhostVisitForm(FormModal[VisitOpened]):
    """A patron with no player record sits down: what staff know of them is kept."""

    HELP = """
    Open a ghost gaming visit for a patron with no player record: what staff know of them,
    and where they sit. Their play and cash are tracked for finance and compliance but earn
    no points. A pit boss may later associate the visit with a player.
    """

    TITLE = "Open a ghost visit (unrated)"
    DESCRIPTION = "Open a ghost visit"
    FIELD_IDS = {
        "description": "ghost-description",
        "table": "ghost-table",
        "table_id": "ghost-table",
        "seat": "ghost-seat",
        "notes": "ghost-notes",
    }

    def __init__(self, tables: Sequence[TableView], table_id: uuid.UUID | None = None) -> None:
        super().__init__()
        self.tables = list(tables)
        """The tables staff may seat the patron at (the floor's, unfiltered)."""
        self.table_id = table_id
        """The table to offer first: the one highlighted on the floor."""

    def compose_fields(self) -> ComposeResult:
        yield Static(
            "No player record: play is tracked for finance and compliance, and earns no"
            " points. A pit boss can associate the visit with a player later.",
            classes="form-facts",
        )
        options = [(literal(f"{t.label} ({t.pit}, {t.game_name})"), str(t.id)) for t in self.tables]
        default = str(self.table_id) if self.table_id else Select.NULL
        with Horizontal(classes="form-row"):
            yield Label("Description", classes="form-label")
            yield Input(placeholder="e.g. grey suit, red tie", id="ghost-description")
        with Horizontal(classes="form-row"):
            yield Label("Table", classes="form-label")
            yield Select(options, prompt="No table", value=default, id="ghost-table")
        with Horizontal(classes="form-row"):
            yield Label("Seat", classes="form-label")
            yield Input(placeholder="1 to 14", restrict=r"[0-9]*", id="ghost-seat")
        with Horizontal(classes="form-row"):
            yield Label("Notes", classes="form-label")
            yield Input(placeholder="optional", id="ghost-notes")

    def submit(self) -> None:
        description = self.query_one("#ghost-description", Input).value.strip()
        if not description:
            raise ValueError("description: describe the patron so staff can tell them apart")
        table_id = selected_uuid(self.query_one("#ghost-table", Select))
        seat = parse_seat(self.query_one("#ghost-seat", Input).value, required=False)
        if seat is not None and table_id is None:
            raise ValueError("table: a seat needs a table")
        notes = self.query_one("#ghost-notes", Input).value.strip() or None
        command = parse(
            OpenVisit,
            {
                "kind": VisitKind.GAMING_GHOST_UNRATED,
                "table_id": table_id,
                "seat": seat,
                "description": description,
                "notes": notes,
                "idempotency_key": self.idempotency_key,
            },
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: visits.open_visit(session.database.uow(actor), actor, command), self.dismiss
        )


class ManualCreditForm(FormModal[Credited]):
    """Points for a patron as a separate, noted ledger entry (after a ghost association)."""

    HELP = """
    Credit points to the player by hand, as a separate ledger entry with a note: associating a
    ghost visit grants no points itself. Escape gives no credit.
    """

    TITLE = "Manual credit"
    DESCRIPTION = "Post a manual credit"
    FIELD_IDS = {"points": "credit-points", "note": "credit-note"}

    def __init__(self, player: PlayerSummary, reason: str, visit_id: uuid.UUID | None) -> None:
        super().__init__()
        self.player = player
        self.reason = reason
        """Why the credit is offered, shown above the fields."""
        self.visit_id = visit_id

    def compose_fields(self) -> ComposeResult:
        yield Static(self.reason, classes="form-facts", markup=False)
        yield Static(
            f"Player: {self.player.name} · balance {self.player.balance:,} pts",
            classes="form-facts",
            markup=False,
        )
        with Horizontal(classes="form-row"):
            yield Label("Points", classes="form-label")
            yield Input(placeholder="whole points", restrict=r"[0-9]*", id="credit-points")
        with Horizontal(classes="form-row"):
            yield Label("Note", classes="form-label")
            yield Input(placeholder="why (required)", id="credit-note")

    def hint(self) -> str:
        return "Enter: next field / credit · Escape: no credit"

    def submit(self) -> None:
        text = self.query_one("#credit-points", Input).value.strip()
        if not text.isdigit() or int(text) <= 0:
            raise ValueError("points: enter a whole number of points above 0")
        note = self.query_one("#credit-note", Input).value.strip()
        if not note:
            raise ValueError("note: a manual credit needs a note saying why")
        command = parse(
            ManualCredit,
            {
                "player_id": self.player.id,
                "points": int(text),
                "note": note,
                "visit_id": self.visit_id,
                "idempotency_key": self.idempotency_key,
            },
        )
        session = self.session
        actor = session.signed_in()
        self.call_service(
            lambda: loyalty.manual_credit(session.database.uow(actor), actor, command),
            self.dismiss,
        )
