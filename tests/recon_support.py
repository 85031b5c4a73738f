"""Helpers for the tier-reconciliation tests: a casino whose executed batch trains every case."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import delete, select, update

from pitterm.domain import imports, players
from pitterm.domain import reconciliation as recon
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole, Tier
from pitterm.domain.tables import PlayerLoyalty
from tests.factories import CasinoWorld, build_casino
from tests.import_support import HEADER, MAPPING, write_csv

FRESH = "2026-10-01"
"""Within 90 days of the tests' frozen clock (2026-11-21)."""
STALE = "2026-01-15"
"""Long before the threshold."""


@dataclass(frozen=True)
class Case:
    """One player of the training batch: their tier before, and the row the file carries."""

    name: str
    card: str
    tier: Tier | None
    """The canonical tier before the import; None: the player has no loyalty record."""
    label: str
    last_visit: str
    points: str = "500"
    exists: bool = True
    """False: the import creates the player (with a bronze loyalty record)."""


CASES = (
    Case("Upgrade", "C-0001", Tier.SILVER, "Gold+", FRESH),
    Case("Equal", "C-0002", Tier.GOLD, "Gold+", FRESH),
    Case("Downgrade", "C-0003", Tier.PLATINUM, "Silver", FRESH),
    Case("Stale", "C-0004", Tier.BRONZE, "Gold+", STALE),
    Case("Unknown", "C-0005", Tier.BRONZE, "Gold+", ""),
    Case("Seed", "C-0006", None, "Diamond", FRESH),
    Case("Unmapped", "C-0007", Tier.BRONZE, "Legacy VIP", FRESH),
    Case("Ignored", "C-0008", Tier.BRONZE, "Staff", FRESH),
    Case("Newcomer", "C-0009", None, "Silver", FRESH, exists=False),
)
ROW = {case.name: n for n, case in enumerate(CASES, start=1)}
"""Case name → its row number in the batch."""
MAPPED = {"Gold+": Tier.GOLD, "Silver": Tier.SILVER, "Diamond": Tier.DIAMOND}
IGNORED = ("Staff",)


@dataclass
class ReconWorld:
    world: CasinoWorld
    batch_id: uuid.UUID
    players: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def lm(self) -> Actor:
        return self.world.actor(StaffRole.LOYALTY_MANAGER)

    @property
    def admin(self) -> Actor:
        return self.world.admin


def enrol(database: Database, actor: Actor, first: str, card: str) -> uuid.UUID:
    return players.enrol(
        database.uow(actor),
        actor,
        players.NewPlayer(
            first_name=first,
            last_name="Tester",
            date_of_birth=date(1980, 1, 1),
            loyalty_card_number=card,
            idempotency_key=uuid.uuid4(),
        ),
    ).player_id


def set_tier(database: Database, player_id: uuid.UUID, tier: Tier | None) -> None:
    """Test setup only: put a canonical tier in place (None removes the loyalty record)."""
    with database.raw() as conn:
        if tier is None:
            conn.execute(delete(PlayerLoyalty).where(PlayerLoyalty.player_id == player_id))
        else:
            conn.execute(
                update(PlayerLoyalty).where(PlayerLoyalty.player_id == player_id).values(tier=tier)
            )
        conn.commit()


def tier_of(database: Database, player_id: uuid.UUID) -> Tier | None:
    with database.raw() as conn:
        return conn.scalar(select(PlayerLoyalty.tier).where(PlayerLoyalty.player_id == player_id))


def stage_and_execute(database: Database, actor: Actor, rows: list[list[str]]) -> uuid.UUID:
    folder = Path(tempfile.mkdtemp(prefix="pitterm-recon-"))
    path = write_csv(folder / "vendor.csv", rows, HEADER)
    try:
        staged = imports.stage_file(database.uow(actor), actor, path, MAPPING)
    finally:
        path.unlink()
        folder.rmdir()
    imports.execute_batch(database.uow(actor), actor, staged.batch.id)
    return staged.batch.id


def csv_row(case: Case) -> list[str]:
    email = f"{case.name.lower()}.{case.card.lower()}@example.com"
    return [
        case.name,
        "Tester",
        "1980-01-01",
        email,
        "",
        case.card,
        case.label,
        case.points,
        case.last_visit,
    ]


def build(
    database: Database,
    code: str = "ALPHA",
    *,
    map_labels: bool = True,
    cases: tuple[Case, ...] = CASES,
) -> ReconWorld:
    """A casino, its players at their tiers, and an executed batch with one row per case."""
    world = build_casino(database, code)
    lm = world.actor(StaffRole.LOYALTY_MANAGER)
    ids: dict[str, uuid.UUID] = {}
    for case in cases:
        if case.exists:
            ids[case.name] = enrol(database, world.admin, case.name, case.card)
            set_tier(database, ids[case.name], case.tier)
    batch_id = stage_and_execute(database, lm, [csv_row(c) for c in cases])
    result = ReconWorld(world, batch_id, ids)
    for n, case in enumerate(cases, start=1):
        if not case.exists:
            result.players[case.name] = row(database, result, n).player_id
    if map_labels:
        present = {case.label for case in cases}
        for label, tier in MAPPED.items():
            if label in present:
                map_label(database, result, label, tier)
        for label in IGNORED:
            if label in present:
                map_label(database, result, label, None)
    return result


def map_label(
    database: Database, world: ReconWorld, label: str, tier: Tier | None
) -> recon.MappingChanged:
    return recon.set_tier_mapping(
        database.uow(world.lm),
        world.lm,
        recon.SetTierMapping(
            batch_id=world.batch_id, vendor_label=label, tier=tier, ignore=tier is None
        ),
    )


def row(database: Database, world: ReconWorld, row_number: int) -> recon.ReconRow:
    return recon.diff(database.uow(world.lm), world.lm, world.batch_id, row_number).row


def apply(
    database: Database,
    world: ReconWorld,
    row_number: int,
    actor: Actor | None = None,
    *,
    key: uuid.UUID | None = None,
    confirm: bool = False,
    override: str | None = None,
) -> recon.Applied:
    actor = actor or world.lm
    return recon.apply(
        database.uow(actor),
        actor,
        recon.ApplyReconciliation(
            batch_id=world.batch_id,
            row_number=row_number,
            idempotency_key=key or uuid.uuid4(),
            confirm_freshness=confirm,
            override_reason=override,
        ),
    )


def revert(
    database: Database,
    world: ReconWorld,
    row_number: int,
    actor: Actor | None = None,
    *,
    key: uuid.UUID | None = None,
) -> recon.Reverted:
    actor = actor or world.lm
    return recon.revert(
        database.uow(actor),
        actor,
        recon.RevertReconciliation(
            batch_id=world.batch_id, row_number=row_number, idempotency_key=key or uuid.uuid4()
        ),
    )
