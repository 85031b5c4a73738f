"""A casino with a comp catalog and players with known balances, and Pilot steps for Player mode."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from textual.pilot import Pilot

from pitterm.domain import loyalty
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.tables import LoyaltyLedger, PlayerLoyalty
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol
from tests.test_app_shell import settle

CATALOG = (
    ("Buffet for one", "Dining", 250),
    ("Steakhouse dinner for two", "Dining", 1_500),
    ("Show tickets (pair)", "Entertainment", 4_000),
)


@dataclass
class PlayerWorld:
    """The test casino, its comps by name, and players by surname with their ids."""

    world: CasinoWorld
    comps: dict[str, uuid.UUID] = field(default_factory=dict)
    players: dict[str, uuid.UUID] = field(default_factory=dict)


def tick(database: Database, seconds: int = 60) -> None:
    """Move the frozen clock on, so ledger rows have distinct times (and a stable order)."""
    clock = database.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(seconds=seconds))


def credit(database: Database, world: CasinoWorld, player_id: uuid.UUID, points: int) -> None:
    boss = world.actor(StaffRole.PIT_BOSS)
    loyalty.manual_credit(
        database.uow(boss),
        boss,
        loyalty.ManualCredit(
            player_id=player_id,
            points=points,
            note="Opening balance for the test",
            idempotency_key=uuid.uuid4(),
        ),
    )
    tick(database)


def build_player_world(database: Database) -> PlayerWorld:
    """ALPHA casino; Rita Hayworth holds 1,000 points, Gene Kelly 100 (near zero)."""
    world = build_casino(database)
    built = PlayerWorld(world)
    for name, category, cost in CATALOG:
        comp = loyalty.add_comp(
            database.uow(world.admin),
            world.admin,
            loyalty.NewComp(name=name, category=category, points_cost=cost),
        )
        built.comps[name] = comp.id
    boss = world.actor(StaffRole.PIT_BOSS)
    built.players["Hayworth"] = enrol(database, boss, "Rita", "Hayworth", card="BV-1001")
    built.players["Kelly"] = enrol(database, boss, "Gene", "Kelly", card="BV-1002")
    credit(database, world, built.players["Hayworth"], 1_000)
    credit(database, world, built.players["Kelly"], 100)
    return built


def ledger_rows(
    database: Database, world: CasinoWorld, player_id: uuid.UUID
) -> list[LoyaltyLedger]:
    """The player's ledger entries, oldest first, straight from the database."""
    with database.reader(world.scope) as uow:
        rows = uow.session.scalars(
            select(LoyaltyLedger)
            .where(LoyaltyLedger.player_id == player_id)
            .order_by(LoyaltyLedger.created_at, LoyaltyLedger.id)
        ).all()
        uow.session.expunge_all()
        return list(rows)


def balance_of(database: Database, world: CasinoWorld, player_id: uuid.UUID) -> int:
    with database.reader(world.scope) as uow:
        account = uow.session.get_one(PlayerLoyalty, (player_id, world.casino.id))
        return account.current_balance


async def typed(pilot: Pilot[None], text: str) -> None:
    """Type text key by key (spaces included) into whatever has focus."""
    await pilot.press(*("space" if ch == " " else ch for ch in text))


async def find_player(pilot: Pilot[None], search: str) -> None:
    """In Player mode: s, type the search, wait for the results, Enter picks the first."""
    await pilot.press("s")
    await settle(pilot)
    await typed(pilot, search)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    # Let the card and its recent ledger repaint before anything covers them: a modal
    # opened first would freeze the screen underneath mid-update (and snapshots flake).
    # The idle wait ends only once the screen has nothing left to lay out or paint
    # (tests/textual_support.py).
    await pilot.pause()
