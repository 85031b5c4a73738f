"""The loyalty ledger's one write path: lock the account, append the entry, move the balance.

Every points change in pitterm goes through ``post`` so the invariant holds at every commit:
``player_loyalty.current_balance`` = Σ ``loyalty_ledger.points_delta`` for the account.

Core statements (no ORM unit-of-work bookkeeping): this is the hottest write in the
terminal. Each names the casino, as ``UnitOfWork.execute`` requires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pitterm.domain.database import UnitOfWork, table_of
from pitterm.domain.enums import LedgerReason, Tier
from pitterm.domain.tables import LoyaltyLedger, PlayerLoyalty


class Posted(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry_id: uuid.UUID
    points_delta: int
    balance_before: int
    balance_after: int


@dataclass(frozen=True)
class Account:
    """A player's loyalty row as read under its lock."""

    player_id: uuid.UUID
    casino_id: uuid.UUID
    current_balance: int
    tier: Tier | None


_ACCOUNTS = table_of(PlayerLoyalty)
_ENTRIES = table_of(LoyaltyLedger)
_THIS_ACCOUNT = (_ACCOUNTS.c.player_id == bindparam("account_player")) & (
    _ACCOUNTS.c.casino_id == bindparam("account_casino")
)
LOCK = select(_ACCOUNTS.c.current_balance, _ACCOUNTS.c.tier).where(_THIS_ACCOUNT).with_for_update()
"""The account row, locked until the transaction ends (params: account_player, account_casino)."""
_MOVE = (
    update(_ACCOUNTS)
    .where(_THIS_ACCOUNT)
    .values(current_balance=bindparam("after"), updated_at=bindparam("now"))
)

_APPEND = insert(_ENTRIES).values(
    {c.name: bindparam(f"e_{c.name}", type_=c.type) for c in _ENTRIES.columns}
)
_APPEND_AND_MOVE = _MOVE.add_cte(_APPEND.cte("entry"))
"""Postgres: the entry and the balance in one statement."""


def lock(uow: UnitOfWork, casino_id: uuid.UUID, player_id: uuid.UUID) -> Account:
    """The player's loyalty row, created if missing, locked until the transaction ends.

    Postgres takes a row lock (FOR UPDATE); SQLite units of work that write already hold the
    database's write lock (BEGIN IMMEDIATE).
    """
    key = {"account_player": player_id, "account_casino": casino_id}
    row = uow.execute(LOCK, key).first()
    if row is None:
        dialect_insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
        uow.execute(
            dialect_insert(_ACCOUNTS)
            .values(
                player_id=player_id,
                casino_id=casino_id,
                current_balance=0,
                tier=None,
                updated_at=uow.now(),
            )
            .on_conflict_do_nothing(index_elements=["player_id", "casino_id"])
        )
        row = uow.execute(LOCK, key).one()
    return Account(player_id, casino_id, row.current_balance, row.tier)


def lock_account(uow: UnitOfWork, casino_id: uuid.UUID, player_id: uuid.UUID) -> PlayerLoyalty:
    """``lock``, for a caller that goes on to change the row through the ORM (its tier)."""
    lock(uow, casino_id, player_id)
    return uow.session.get_one(
        PlayerLoyalty, (player_id, casino_id), populate_existing=True, with_for_update=True
    )


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
    account: Account | PlayerLoyalty | None = None,
) -> Posted:
    """Append one entry and move the cached balance by the same amount, atomically.

    ``account`` is the row the caller already locked, if it did; else it is locked here.
    On Postgres the entry and the balance go in one statement (the INSERT as a CTE).
    """
    account = account or lock(uow, casino_id, player_id)
    before = account.current_balance
    after = before + points_delta
    now = uow.now()
    entry_id = uuid.uuid4()
    entry = {
        "e_id": entry_id,
        "e_casino_id": casino_id,
        "e_player_id": player_id,
        "e_rating_slip_id": rating_slip_id,
        "e_visit_id": visit_id,
        "e_staff_id": staff_id,
        "e_points_delta": points_delta,
        "e_reason": reason,
        "e_idempotency_key": idempotency_key,
        "e_source_kind": source_kind,
        "e_source_id": source_id,
        "e_reverses_entry_id": reverses_entry_id,
        "e_note": note,
        "e_metadata": metadata,
        "e_created_at": now,
    }
    move = {"account_player": player_id, "account_casino": casino_id, "after": after, "now": now}
    if uow.dialect == "postgresql":
        uow.execute(_APPEND_AND_MOVE, {**entry, **move})
    else:
        uow.execute(_APPEND, entry)
        uow.execute(_MOVE, move)
    uow.synchronize(PlayerLoyalty, (player_id, casino_id), current_balance=after, updated_at=now)
    return Posted(
        entry_id=entry_id, points_delta=points_delta, balance_before=before, balance_after=after
    )
