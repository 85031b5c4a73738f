"""What a ledger reader needs beside the ledger: the casino's staff (to filter by) and its clock.

Staff management (``auth.list_staff``) is an admin capability; naming the staff who wrote
ledger rows is part of viewing the ledger history, so it needs only VIEW_FLOOR and tells no
more than the history itself does (code, name, role).
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.casinos import load_settings
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import StaffRole
from pitterm.domain.tables import Staff


class StaffRef(BaseModel):
    """One staff member as a ledger filter lists them."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    code: str
    name: str
    role: StaffRole


class LedgerContext(BaseModel):
    """The casino's time zone (ledger times and date filters) and its staff, by code."""

    model_config = ConfigDict(frozen=True)

    time_zone: str
    staff: list[StaffRef]


def ledger_context(uow: UnitOfWork, actor: Actor) -> LedgerContext:
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        settings = load_settings(uow, actor.casino_id)
        rows = uow.session.scalars(
            select(Staff).where(Staff.casino_id == actor.casino_id).order_by(Staff.code)
        ).all()
        return LedgerContext(
            time_zone=settings.time_zone,
            staff=[StaffRef(id=s.id, code=s.code, name=s.name, role=s.role) for s in rows],
        )


__all__ = ["LedgerContext", "StaffRef", "ledger_context"]
