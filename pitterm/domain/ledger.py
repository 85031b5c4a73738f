"""The loyalty ledger's one write path: lock the account, append the entry, move the balance.

Every points change in pitterm goes through ``post`` so the invariant holds at every commit:
``player_loyalty.current_balance`` = Σ ``loyalty_ledger.points_delta`` for the account.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import LedgerReason
from pitterm.domain.tables import LoyaltyLedger, PlayerLoyalty


class Posted(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry_id: uuid.UUID
    points_delta: int
    balance_before: int
    balance_after: int


def lock_account(uow: UnitOfWork, casino_id: uuid.UUID, player_id: uuid.UUID) -> PlayerLoyalty:
    """The player's loyalty row, created if missing, locked until the transaction ends.

    Postgres takes a row lock (FOR UPDATE); SQLite units of work that write already hold the
    database's write lock (BEGIN IMMEDIATE).
    """
    dialect_insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    uow.session.execute(
        dialect_insert(PlayerLoyalty)
        .values(
            player_id=player_id,
            casino_id=casino_id,
            current_balance=0,
            tier=None,
            updated_at=uow.now(),
        )
        .on_conflict_do_nothing(index_elements=["player_id", "casino_id"])
    )
    return uow.session.scalars(
        select(PlayerLoyalty)
        .where(PlayerLoyalty.player_id == player_id, PlayerLoyalty.casino_id == casino_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def post(
    uow: UnitOfWork,
    *,
    casino_id: uuid.UUID,
    player_id: uuid.UUID,
    points_delta: int,
    reason: LedgerReason,
    staff_id: uuid.UUID | None,
    idempotency_key: uuid.UUID | None,
    metadata: dict[str, Any],
    note: str | None = None,
    source_kind: str | None = None,
    source_id: uuid.UUID | None = None,
    rating_slip_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
    reverses_entry_id: uuid.UUID | None = None,
    account: PlayerLoyalty | None = None,
) -> Posted:
    """Append one entry and move the cached balance by the same amount, atomically."""
    account = account or lock_account(uow, casino_id, player_id)
    before = account.current_balance
    entry = LoyaltyLedger(
        id=uuid.uuid4(),
        casino_id=casino_id,
        player_id=player_id,
        rating_slip_id=rating_slip_id,
        visit_id=visit_id,
        staff_id=staff_id,
        points_delta=points_delta,
        reason=reason,
        idempotency_key=idempotency_key,
        source_kind=source_kind,
        source_id=source_id,
        reverses_entry_id=reverses_entry_id,
        note=note,
        metadata_=metadata,
        created_at=uow.now(),
    )
    uow.session.add(entry)
    account.current_balance = before + points_delta
    account.updated_at = uow.now()
    uow.session.flush()
    return Posted(
        entry_id=entry.id,
        points_delta=points_delta,
        balance_before=before,
        balance_after=account.current_balance,
    )
