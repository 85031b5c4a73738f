"""Loading one row a service is about to act on: found (and locked, when it will change) or
refused with the caller's own error."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import Select, select

from pitterm.domain.actor import Actor
from pitterm.domain.database import UnitOfWork
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import Visit

T = TypeVar("T")


def one_or_raise(
    uow: UnitOfWork, query: Select[T], missing: DomainError, *, lock: bool = False
) -> T:
    """The single row ``query`` finds, else ``missing`` is raised.

    With ``lock`` the row is locked until the transaction ends (Postgres FOR NO KEY UPDATE:
    it serialises changes to the row, while inserts that merely reference it — a comp on
    the visit, a ledger entry for the slip — need not wait, so they cannot deadlock with
    it) and re-read, so a change committed by another terminal while this one waited is seen.
    """
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    found = uow.session.scalar(query)
    if found is None:
        raise missing
    return found


def visit(uow: UnitOfWork, actor: Actor, visit_id: uuid.UUID, *, lock: bool = False) -> Visit:
    """A visit of the actor's casino (shared by the visit and slip services)."""
    return one_or_raise(
        uow,
        select(Visit).where(Visit.id == visit_id, Visit.casino_id == actor.casino_id),
        DomainError(ErrorCode.VISIT_NOT_FOUND, "No such visit at this casino."),
        lock=lock,
    )
