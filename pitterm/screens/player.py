"""Player mode: find a patron, see their card and recent ledger, issue comps and credits.

Keys follow the role (DESIGN §3): comps for pit bosses, cashiers and admins; manual credit
for pit bosses and admins; adjustments and reversals for admins. A key the role lacks is
hidden; a key that needs a chosen player (or ledger row) is greyed until there is one.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from pitterm.domain import directory, loyalty
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import Database
from pitterm.domain.directory import LedgerContext
from pitterm.domain.enums import LedgerReason
from pitterm.domain.loyalty import LedgerRow, PlayerCard
from pitterm.domain.players import PlayerSummary
from pitterm.screens.base import ModeScreen
from pitterm.screens.comp_modal import CompModal
from pitterm.screens.corrections import AdjustModal, ReverseModal
from pitterm.screens.credit_modal import CreditModal
from pitterm.screens.ledger import LedgerScreen, PlayerRef, ledger_cells, ledger_columns
from pitterm.screens.player_picker import PlayerPicker
from pitterm.widgets.columns import FittingTable
from pitterm.widgets.ledger_text import local_time
from pitterm.widgets.player_card import PlayerCardView

NEEDS: dict[str, Capability] = {
    "comp": Capability.ISSUE_COMP,
    "credit": Capability.MANUAL_CREDIT,
    "adjust": Capability.ADJUST_REVERSE,
    "reverse": Capability.ADJUST_REVERSE,
}
"""Actions and the capability each needs; without it the key is hidden."""


class PlayerScreen(ModeScreen):
    """The chosen player's card over their ten most recent ledger entries."""

    HELP = """
    Find a player by card number, date of birth or name, and see their card: tier, points
    balance and the most recent ledger entries. From here staff issue comps (pit boss,
    cashier, admin), credit points by hand (pit boss, admin), adjust a balance or reverse an
    entry (admin), and open the full ledger history.
    """

    MODE_NAME = "player"
    MODE_TITLE = "Player"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "s,slash",
            "find",
            "Find player",
            id="player.find",
            tooltip="Find a player by card number, date of birth (YYYY-MM-DD) or name.",
        ),
        Binding(
            "c",
            "comp",
            "Issue comp",
            id="player.comp",
            tooltip="Issue a comp from the catalog or at a typed cost; debits the balance.",
        ),
        Binding(
            "m",
            "credit",
            "Manual credit",
            id="player.credit",
            tooltip="Credit points by hand (service recovery), with a note.",
        ),
        Binding(
            "l",
            "ledger",
            "Ledger history",
            id="player.ledger",
            tooltip="Every ledger entry, filtered and paged; this player's when one is chosen.",
        ),
        Binding(
            "a",
            "adjust",
            "Adjust",
            id="player.adjust",
            tooltip="Adjust the balance up or down, with a note (admin).",
        ),
        Binding(
            "v",
            "reverse",
            "Reverse entry",
            id="player.reverse",
            tooltip="Reverse the selected ledger entry exactly, with a note (admin).",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="player.refresh",
            tooltip="Read the player card again from the database.",
        ),
    ]

    card_view = getters.query_one(PlayerCardView)
    recent = getters.query_one("#player-recent", DataTable)

    def __init__(self) -> None:
        super().__init__()
        self.player_id: uuid.UUID | None = None
        """The chosen player, or None."""
        self.card: PlayerCard | None = None
        """The chosen player's card as last read."""
        self.context: LedgerContext | None = None
        self._recent: dict[str, LedgerRow] = {}

    def compose_body(self) -> ComposeResult:
        yield PlayerCardView()
        yield Static("Recent ledger", id="player-recent-title")
        table: FittingTable[str] = FittingTable(
            id="player-recent", cursor_type="row", zebra_stripes=True
        )
        ledger_columns(table, with_player=False)
        yield table

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.reload()

    # -- reading -------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the chosen player's card again (after a change, or on coming back)."""
        if self.player_id is not None and self.session.actor is not None:
            self.load_card(self.session.database, self.session.actor, self.player_id, self.context)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="player-card",
        description="Read the player card",
    )
    def load_card(
        self,
        database: Database,
        actor: Actor,
        player_id: uuid.UUID,
        context: LedgerContext | None,
    ) -> None:
        # The casino's zone comes with the first card, so the rows render once, in local time.
        if context is None:
            context = directory.ledger_context(database.reader(actor), actor)
        card = loyalty.player_card(database.reader(actor), actor, player_id)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_card, card, context)

    def _show_card(self, card: PlayerCard, context: LedgerContext) -> None:
        if card.player_id != self.player_id:
            return  # another player was chosen meanwhile
        self.context = context
        selected = self.selected_entry()
        self.card = card
        self.card_view.card = card
        self._recent = {str(row.id): row for row in card.recent}
        time_zone = self.context.time_zone if self.context else None
        self.recent.clear()
        for row in card.recent:
            self.recent.add_row(*ledger_cells(row, time_zone, with_player=False), key=str(row.id))
        if selected is not None and str(selected.id) in self._recent:
            self.recent.move_cursor(row=self.recent.get_row_index(str(selected.id)))
        self.query_one("#player-recent-title", Static).update(
            f"Recent ledger │ {len(card.recent)} latest entries │ l: full history"
        )
        self.refresh_bindings()

    def selected_entry(self) -> LedgerRow | None:
        if self.recent.row_count == 0:
            return None
        key = self.recent.coordinate_to_cell_key(self.recent.cursor_coordinate).row_key.value
        return self._recent.get(key or "")

    @on(DataTable.RowHighlighted, "#player-recent")
    def _entry_highlighted(self) -> None:
        self.refresh_bindings()

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.session.actor
        needed = NEEDS.get(action)
        if needed is not None and (actor is None or not can(actor.role, needed)):
            return False
        if action in {"comp", "credit", "adjust", "refresh"}:
            return True if self.card is not None else None
        if action == "reverse":
            entry = self.selected_entry()
            return True if entry is not None and entry.reason is not LedgerReason.REVERSAL else None
        return True

    def action_find(self) -> None:
        def picked(player: PlayerSummary | None) -> None:
            if player is not None:
                self.choose(player.id)

        self.app.push_screen(PlayerPicker(), picked)

    def choose(self, player_id: uuid.UUID) -> None:
        """Show this player (from the picker, or from another mode)."""
        self.player_id = player_id
        self.card = None
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def _changed(self, outcome: object | None) -> None:
        if outcome is not None:
            self.reload()

    def action_comp(self) -> None:
        if self.card is not None:
            self.app.push_screen(CompModal(self.card), self._changed)

    def action_credit(self) -> None:
        if self.card is not None:
            self.app.push_screen(CreditModal(self.card), self._changed)

    def action_adjust(self) -> None:
        if self.card is not None:
            modal = AdjustModal(self.card.player_id, self.card.name, self.card.balance)
            self.app.push_screen(modal, self._changed)

    def action_reverse(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.reason is LedgerReason.REVERSAL:
            return
        when = local_time(entry.created_at, self.context.time_zone if self.context else None)
        self.app.push_screen(ReverseModal(entry, when), self._changed)

    def action_ledger(self) -> None:
        card = self.card
        player = PlayerRef(card.player_id, card.name) if card is not None else None
        self.app.push_screen(LedgerScreen(player))
