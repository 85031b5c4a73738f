"""The loyalty ledger's one write path: lock the account, append the entry, move the balance.

Every points change in pitterm goes through ``post`` so the invariant holds at every commit:
``player_loyalty.current_balance`` = Σ ``loyalty_ledger.points_delta`` for the account.

Core statements (no ORM unit-of-work bookkeeping), sent to the driver directly on Postgres
(``Direct``): this is the hottest write in the terminal. Each names the casino, as
``UnitOfWork.execute`` requires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pitterm.domain.database import Direct, UnitOfWork, table_of
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
_LOCK = Direct(LOCK)
_MOVE_STATEMENT = (
    update(_ACCOUNTS)
    .where(_THIS_ACCOUNT)
    .values(current_balance=bindparam("after"), updated_at=bindparam("now"))
)
_MOVE = Direct(_MOVE_STATEMENT)

_APPEND_STATEMENT = insert(_ENTRIES).values(
    {c.name: bindparam(f"e_{c.name}", type_=c.type) for c in _ENTRIES.columns}
)
_APPEND = Direct(_APPEND_STATEMENT)
_APPEND_AND_MOVE = Direct(_MOVE_STATEMENT.add_cte(_APPEND_STATEMENT.cte("entry")))
"""Postgres: the entry and the balance (of an account the caller locked) in one statement."""
_OPEN_OR_MOVE = postgresql.insert(_ACCOUNTS).values(
    player_id=bindparam("account_player"),
    casino_id=bindparam("account_casino"),
    current_balance=bindparam("delta"),
    updated_at=bindparam("now"),
)
_APPEND_AND_ADD = Direct(
    _OPEN_OR_MOVE.on_conflict_do_update(
        index_elements=[_ACCOUNTS.c.player_id, _ACCOUNTS.c.casino_id],
        set_={
            "current_balance": _ACCOUNTS.c.current_balance + _OPEN_OR_MOVE.excluded.current_balance,
            "updated_at": _OPEN_OR_MOVE.excluded.updated_at,
        },
    )
    .returning(_ACCOUNTS.c.current_balance)
    .add_cte(_APPEND_STATEMENT.cte("entry"))
)
"""Postgres: the entry, and the balance moved by the same amount under the row lock the
upsert itself takes (the account created with that balance if it had none), in one
statement that returns the balance after."""


def lock(uow: UnitOfWork, casino_id: uuid.UUID, player_id: uuid.UUID) -> Account:
    """The player's loyalty row, created if missing, locked until the transaction ends.

    Postgres takes a row lock (FOR UPDATE); SQLite units of work that write already hold the
    database's write lock (BEGIN IMMEDIATE).
    """
    key = {"account_player": player_id, "account_casino": casino_id}
    row = uow.execute(_LOCK, key).first()
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
        row = uow.execute(_LOCK, key).one()
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
    with_commit: bool = False,
) -> Posted:
    """Append one entry and move the cached balance by the same amount, atomically.

    ``account`` is the row the caller already locked (and checked the balance of), if it
    did. On Postgres the entry and the balance go in one statement (the INSERT as a CTE):
    the balance set to what the caller computed from its locked row, or — with no
    ``account`` — moved by ``points_delta`` in place, the lock taken by that statement.
    Elsewhere the row is locked here first.

    ``with_commit``: queue both on the unit of work instead, sent with its commit in the one
    statement that carries the audit row and the stored outcome — for a caller holding the
    account locked that reads neither the entry nor the balance again (a comp).
    """
    now = uow.now()
    entry_id = uuid.uuid4()
    entry = {
        "id": entry_id,
        "casino_id": casino_id,
        "player_id": player_id,
        "rating_slip_id": rating_slip_id,
        "visit_id": visit_id,
        "staff_id": staff_id,
        "points_delta": points_delta,
        "reason": reason,
        "idempotency_key": idempotency_key,
        "source_kind": source_kind,
        "source_id": source_id,
        "reverses_entry_id": reverses_entry_id,
        "note": note,
        "metadata": metadata,
        "created_at": now,
    }
    key = {"account_player": player_id, "account_casino": casino_id, "now": now}
    if with_commit:
        if account is None:
            raise ValueError("with_commit posts to an account the caller has locked")
        before = account.current_balance
        after = before + points_delta
        uow.append(LoyaltyLedger, entry)
        uow.append_update(_MOVE_STATEMENT, {**key, "after": after})
    elif uow.dialect == "postgresql" and account is None:
        values = {f"e_{name}": value for name, value in entry.items()}
        added = uow.execute(_APPEND_AND_ADD, {**values, **key, "delta": points_delta}).one()
        after = added.current_balance
        before = after - points_delta
    else:
        account = account or lock(uow, casino_id, player_id)
        before = account.current_balance
        after = before + points_delta
        values = {f"e_{name}": value for name, value in entry.items()}
        if uow.dialect == "postgresql":
            uow.execute(_APPEND_AND_MOVE, {**values, **key, "after": after})
        else:
            uow.execute(_APPEND, values)
            uow.execute(_MOVE, {**key, "after": after})
    uow.synchronize(PlayerLoyalty, (player_id, casino_id), current_balance=after, updated_at=now)
    return Posted(
        entry_id=entry_id, points_delta=points_delta, balance_before=before, balance_after=after
    )
