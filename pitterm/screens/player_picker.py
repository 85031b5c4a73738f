"""Find a player (or enrol a new one) and hand the choice back: ``PlayerPicker() → PlayerSummary``.

Any screen that needs a patron pushes ``PlayerPicker()`` and gets a ``PlayerSummary`` (or
None when staff escape). Search takes a loyalty card number, a date of birth
(YYYY-MM-DD) or the start of a name; results come from the database as staff type.
"""

from __future__ import annotations

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import get_current_worker

from pitterm.domain import players
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import Database
from pitterm.domain.players import NewPlayer, PlayerSummary
from pitterm.domain.validation import parse
from pitterm.screens.base import PitModal, session_of
from pitterm.screens.forms import FormModal
from pitterm.widgets.columns import Col, fixed_columns
from pitterm.widgets.literal import literal
from pitterm.widgets.play_format import KIND_LABELS, points

__all__ = ["EnrolForm", "PlayerPicker"]


class PlayerPicker(PitModal[PlayerSummary | None]):
    """Search box over a results table; Enter picks, Ctrl+N enrols, Escape gives None."""

    HELP = """
    Find the player: type a card number (exact), a date of birth (YYYY-MM-DD) or the start of
    a first or last name; the results follow as you type. Move down to the results and press
    Enter to pick one. A patron with no record can be enrolled from here by staff who run
    visits.
    """

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="picker.cancel",
            tooltip="Close without choosing a player.",
        ),
        Binding(
            "ctrl+n",
            "enrol",
            "Enrol new player",
            id="picker.enrol",
            tooltip="Enrol a patron who has no player record, then pick them.",
        ),
        Binding(
            "down",
            "to_results",
            "Results",
            id="picker.results",
            tooltip="Move from the search box to the results.",
            show=False,
        ),
    ]

    search_box = getters.query_one("#picker-search", Input)
    results = getters.query_one("#picker-results", DataTable)
    status = getters.query_one("#picker-status", Static)

    def __init__(self, title: str = "Find a player") -> None:
        super().__init__()
        self.title_text = title
        self._found: dict[str, PlayerSummary] = {}
        self._shown_for: str | None = None
        """The search text the results table shows (None before any search)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Input(
                placeholder="Name, card number or date of birth (YYYY-MM-DD)",
                id="picker-search",
            )
            table: DataTable[str] = DataTable(
                id="picker-results", cursor_type="row", zebra_stripes=True
            )
            fixed_columns(
                table,
                Col("Name", "name", 26),
                Col("Card", "card", 12),
                Col("Born", "dob", 10),
                Col("Tier", "tier", 8),
                Col("Balance", "balance", 12),
                Col("Open visit", "visit", 11),
            )
            yield table
            yield Static(  # it quotes what was typed
                "Type a name, a card number or a date of birth.", id="picker-status", markup=False
            )
            with Horizontal(classes="form-hint"):
                yield Static(self._hint())

    def _hint(self) -> str:
        enrol = " · Ctrl+N: enrol new player" if self._may_enrol() else ""
        return f"Enter: pick · ↓: results{enrol} · Escape: cancel"

    def on_mount(self) -> None:
        self.search_box.focus()

    def _may_enrol(self) -> bool:
        actor = session_of(self).actor
        return actor is not None and can(actor.role, Capability.OPERATE_VISITS_SLIPS)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "enrol":
            return self._may_enrol()
        if action == "to_results":
            if not self.is_mounted:
                return False
            return self.search_box.has_focus and self.results.row_count > 0
        return True

    # -- searching -------------------------------------------------------------------------

    @on(Input.Changed, "#picker-search")
    def _typed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def _search(self, text: str) -> None:
        actor = session_of(self).actor
        if actor is None:
            return
        if not text.strip():
            self._show(text, [])
            return
        self.search(session_of(self).database, actor, text)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="picker-search",
        description="Search players",
    )
    def search(self, database: Database, actor: Actor, text: str) -> None:
        found = players.search(database.reader(actor), actor, text)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, text, found)

    def _show(self, text: str, found: list[PlayerSummary]) -> None:
        if text != self.search_box.value:
            return  # an older search answered after a newer one started
        self._shown_for = text
        self._found = {str(player.id): player for player in found}
        self.results.clear()
        for player in found:
            self.results.add_row(*_cells(player), key=str(player.id))
        if not text.strip():
            message = "Type a name, a card number or a date of birth."
        elif not found:
            enrol = " Ctrl+N enrols a new player." if self._may_enrol() else ""
            message = f"No player matches {text.strip()!r}.{enrol}"
        else:
            more = " (first 50; type more to narrow)" if len(found) >= players.SEARCH_LIMIT else ""
            message = f"{len(found)} player{'s' if len(found) != 1 else ''}{more}."
        self.status.update(message)
        self.refresh_bindings()

    # -- picking ---------------------------------------------------------------------------

    @on(Input.Submitted, "#picker-search")
    def _enter_in_search(self, event: Input.Submitted) -> None:
        event.stop()
        if self._shown_for != event.value:
            self._search(event.value)  # results are not for this text yet
            return
        self._pick_highlighted()

    @on(DataTable.RowSelected, "#picker-results")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._pick_highlighted()

    def _pick_highlighted(self) -> None:
        if self.results.row_count == 0:
            return
        key = self.results.coordinate_to_cell_key(self.results.cursor_coordinate).row_key.value
        player = self._found.get(key or "")
        if player is not None:
            self.dismiss(player)

    def action_to_results(self) -> None:
        if self.results.row_count:
            self.results.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_enrol(self) -> None:
        if not self._may_enrol():
            return

        def enrolled(player: PlayerSummary | None) -> None:
            if player is not None:
                self.dismiss(player)

        self.app.push_screen(EnrolForm(self.search_box.value), enrolled)


class EnrolForm(FormModal[PlayerSummary]):
    """A new player's details; enrols (bronze, zero balance) and returns the new player."""

    HELP = """
    Enrol a new player: name, date of birth and, if they have one, a loyalty card number.
    They start at bronze with no points and are picked straight away.
    """

    TITLE = "Enrol a new player"
    DESCRIPTION = "Enrol a player"
    FIELD_IDS = {
        "first_name": "enrol-first",
        "last_name": "enrol-last",
        "date_of_birth": "enrol-dob",
        "email": "enrol-email",
        "phone": "enrol-phone",
        "loyalty_card_number": "enrol-card",
    }

    def __init__(self, typed: str = "") -> None:
        super().__init__()
        self.typed = typed.strip()
        """What was typed in the search box: a name there pre-fills the name fields."""

    def compose_fields(self) -> ComposeResult:
        first, last = _name_guess(self.typed)
        for label, widget in (
            ("First name", Input(first, id="enrol-first")),
            ("Last name", Input(last, id="enrol-last")),
            ("Date of birth", Input(placeholder="YYYY-MM-DD", id="enrol-dob")),
            ("E-mail", Input(placeholder="optional", id="enrol-email")),
            ("Phone", Input(placeholder="optional", id="enrol-phone")),
            ("Card number", Input(placeholder="optional, e.g. BV-100234", id="enrol-card")),
        ):
            with Horizontal(classes="form-row"):
                yield Label(label, classes="form-label")
                yield widget

    def submit(self) -> None:
        def value(widget_id: str) -> str | None:
            text = self.query_one(f"#{widget_id}", Input).value.strip()
            return text or None

        dob = value("enrol-dob")
        if dob is None:
            raise ValueError("date_of_birth: enter the date of birth as YYYY-MM-DD")
        new = parse(
            NewPlayer,
            {
                "first_name": value("enrol-first") or "",
                "last_name": value("enrol-last") or "",
                "date_of_birth": dob,
                "email": value("enrol-email"),
                "phone": value("enrol-phone"),
                "loyalty_card_number": value("enrol-card"),
                "idempotency_key": self.idempotency_key,
            },
        )
        session = self.session
        actor = session.signed_in()

        def enrol() -> PlayerSummary:
            enrolled = players.enrol(session.database.uow(actor), actor, new)
            return players.get(session.database.reader(actor), actor, enrolled.player_id)

        self.call_service(enrol, self._enrolled)

    def _enrolled(self, player: PlayerSummary) -> None:
        self.notify(f"{player.name} is enrolled (bronze, 0 points).", title="Player enrolled")
        self.dismiss(player)


def _name_guess(typed: str) -> tuple[str, str]:
    """'Rita Hay' → ('Rita', 'Hay'), 'hay' → ('', 'Hay'); a card or a date fills nothing."""
    if not typed or any(ch.isdigit() for ch in typed):
        return "", ""
    first, _, last = typed.partition(" ")
    if not last:
        return "", first.title()
    return first.title(), last.strip().title()


def _cells(player: PlayerSummary) -> tuple[str | Text, ...]:
    visit = "—" if player.open_visit_kind is None else KIND_LABELS[player.open_visit_kind]
    return (
        literal(player.name),
        player.loyalty_card_number or "—",
        player.date_of_birth.isoformat() if player.date_of_birth else "—",
        player.tier.value.title() if player.tier else "—",
        points(player.balance),
        visit,
    )
