"""The player card: who the patron is, their tier and balance, their visit and today's theo."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Static

from pitterm.domain.enums import VisitKind
from pitterm.domain.loyalty import PlayerCard
from pitterm.widgets.play_format import KIND_LABELS, theo
from pitterm.widgets.points import PointsBadge


def card_facts(card: PlayerCard) -> str:
    """'Card BV-1001 · Tier Gold · Open visit: rated · Today's theo $12.00'."""
    if card.open_visit_kind is None:
        visit = "none"
    else:
        visit = KIND_LABELS.get(VisitKind(card.open_visit_kind), card.open_visit_kind)
    return " · ".join(
        [
            f"Card {card.loyalty_card_number or '—'}",
            f"Tier {card.tier.title() if card.tier else '—'}",
            f"Open visit: {visit}",
            f"Today's theo {theo(card.today_theo)}",
        ]
    )


class PlayerCardView(Vertical):
    """Name and balance badge on one line, the facts under it; a hint when no player is chosen."""

    DEFAULT_CSS = """
    PlayerCardView {
        height: auto;
        padding: 0 1;
        border: round $primary;
        border-title-color: $text-primary;
        #card-top { height: 1; }
        #card-name { width: 1fr; text-style: bold; }
        #card-facts { color: $text-muted; }
    }
    """

    card: reactive[PlayerCard | None] = reactive(None)
    """The player shown; None shows how to find one."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="card-top"):
            yield Static("", id="card-name", markup=False)
            yield PointsBadge(id="card-balance")
        yield Static("", id="card-facts", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Player card"
        self._show(self.card)

    def watch_card(self, card: PlayerCard | None) -> None:
        if self.is_mounted:
            self._show(card)

    def _show(self, card: PlayerCard | None) -> None:
        badge = self.query_one(PointsBadge)
        if card is None:
            self.query_one("#card-name", Static).update("No player chosen")
            self.query_one("#card-facts", Static).update(
                "Press s to find a player by card number, date of birth or name."
            )
            badge.display = False
            return
        self.query_one("#card-name", Static).update(card.name)
        self.query_one("#card-facts", Static).update(card_facts(card))
        badge.display = True
        badge.balance = card.balance
