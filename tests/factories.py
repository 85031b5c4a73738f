"""Builders for test worlds, through the real setup services (no hand-written rows)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from pitterm.domain.actor import Actor
from pitterm.domain.auth import CasinoInfo, find_casino, parse_credentials, sign_in
from pitterm.domain.casinos import (
    NewCasino,
    NewGame,
    NewStaff,
    NewTable,
    add_game,
    add_staff,
    add_table,
    bootstrap_admin,
    create_casino,
)
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import GameType, StaffRole

PINS: dict[StaffRole, str] = {
    StaffRole.ADMIN: "1000",
    StaffRole.PIT_BOSS: "2000",
    StaffRole.FLOOR_SUPERVISOR: "3000",
    StaffRole.CASHIER: "4000",
    StaffRole.LOYALTY_MANAGER: "5000",
    StaffRole.DEALER: "6000",
}
CODES: dict[StaffRole, str] = {
    StaffRole.ADMIN: "ADM1",
    StaffRole.PIT_BOSS: "PB1",
    StaffRole.FLOOR_SUPERVISOR: "FS1",
    StaffRole.CASHIER: "CA1",
    StaffRole.LOYALTY_MANAGER: "LM1",
    StaffRole.DEALER: "DL1",
}


@dataclass
class CasinoWorld:
    """A casino with one staff member of every role, a blackjack game and two tables."""

    casino: CasinoInfo
    actors: dict[StaffRole, Actor] = field(default_factory=dict)
    game_id: uuid.UUID | None = None
    table_ids: list[uuid.UUID] = field(default_factory=list)

    def actor(self, role: StaffRole) -> Actor:
        return self.actors[role]

    @property
    def admin(self) -> Actor:
        return self.actors[StaffRole.ADMIN]

    @property
    def scope(self) -> Scope:
        return Scope(self.casino.id)


def build_casino(database: Database, code: str = "ALPHA", name: str | None = None) -> CasinoWorld:
    casino = create_casino(database.uow(), NewCasino(code=code, name=name or f"{code} Casino"))
    bootstrap_admin(
        database.uow(),
        casino.id,
        NewStaff(code=CODES[StaffRole.ADMIN], name="Ada Admin", role=StaffRole.ADMIN, pin="1000"),
    )
    world = CasinoWorld(casino)
    world.actors[StaffRole.ADMIN] = signed_in(database, casino, CODES[StaffRole.ADMIN], "1000")
    admin = world.admin
    world.game_id = add_game(
        database.uow(admin),
        admin,
        NewGame(
            name="Blackjack 6-deck",
            game_type=GameType.BLACKJACK,
            house_edge=Decimal("1.5"),
            decisions_per_hour=70,
            points_conversion_rate=Decimal(10),
            min_bet_cents=1_000,
            max_bet_cents=500_000,
        ),
    )
    for label in ("BJ-01", "BJ-02"):
        world.table_ids.append(
            add_table(
                database.uow(admin),
                admin,
                NewTable(label=label, pit="Pit 1", game_settings_id=world.game_id, seats=7),
            )
        )
    for role in StaffRole:
        if role is StaffRole.ADMIN:
            continue
        add_staff(
            database.uow(admin),
            admin,
            NewStaff(
                code=CODES[role],
                name=f"{role.label} {code.title()}",
                role=role,
                pin=PINS[role],
                assigned_table_id=world.table_ids[0] if role is StaffRole.DEALER else None,
            ),
        )
        world.actors[role] = signed_in(database, casino, CODES[role], PINS[role])
    return world


def signed_in(database: Database, casino: CasinoInfo, code: str, pin: str) -> Actor:
    return sign_in(database.uow(Scope(casino.id)), parse_credentials(code, pin))


def lookup_casino(database: Database, code: str) -> CasinoInfo:
    return find_casino(database.uow(), code)
