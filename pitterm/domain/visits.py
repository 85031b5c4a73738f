"""Visits (seed 002, DESIGN §4): reward-only identified, gaming identified rated, ghost gaming.

One open visit per player per casino. A visit belongs to the gaming day it opened in;
opening a new one for a player whose open visit is from an earlier gaming day closes the
old one first, slips and accrual included. Ghost visits keep what staff know of the patron.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from pitterm.domain import audit, records
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.casinos import current_gaming_day
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import VisitKind, VisitStatus
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.slips import ClosedSlip, close_live_slips
from pitterm.domain.tables import GamingTable, Player, Visit
from pitterm.domain.validation import parse


class OpenVisit(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    kind: VisitKind
    player_id: uuid.UUID | None = None
    table_id: uuid.UUID | None = None
    seat: int | None = Field(default=None, ge=1, le=14)
    description: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    idempotency_key: uuid.UUID

    @model_validator(mode="after")
    def _identity_matches_kind(self) -> OpenVisit:
        if self.kind is VisitKind.GAMING_GHOST_UNRATED:
            if self.player_id is not None:
                raise ValueError(
                    "a ghost visit has no player; open an identified visit for a known player"
                )
            if not self.description:
                raise ValueError("a ghost visit needs a description of the patron")
        else:
            if self.player_id is None:
                raise ValueError("an identified visit needs a player")
            if self.table_id is not None or self.seat is not None or self.description:
                raise ValueError("table, seat and description are for ghost visits only")
        return self


class VisitCommand(BaseModel):
    model_config = ConfigDict(frozen=True)

    visit_id: uuid.UUID
    idempotency_key: uuid.UUID


class AssociateGhost(BaseModel):
    model_config = ConfigDict(frozen=True)

    visit_id: uuid.UUID
    player_id: uuid.UUID
    idempotency_key: uuid.UUID


class VisitOpened(Outcome):
    visit_id: uuid.UUID
    kind: VisitKind
    gaming_day: date
    closed_previous_visit_id: uuid.UUID | None = None
    closed_slips: list[ClosedSlip] = Field(default_factory=list)


class VisitClosed(Outcome):
    visit_id: uuid.UUID
    closed_at: datetime
    closed_slips: list[ClosedSlip] = Field(default_factory=list)


class VisitConverted(Outcome):
    visit_id: uuid.UUID
    kind: VisitKind


class GhostAssociated(Outcome):
    """Association grants nothing: any comp for the ghost play is a separate manual credit."""

    visit_id: uuid.UUID
    player_id: uuid.UUID
    points_granted: int = 0


def open_visit(uow: UnitOfWork, actor: Actor, command: OpenVisit) -> VisitOpened:
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(OpenVisit, command)

    def body() -> VisitOpened:
        today = current_gaming_day(uow, actor.casino_id)
        previous: Visit | None = None
        closed: list[ClosedSlip] = []
        if command.player_id is not None:
            _player(uow, actor, command.player_id, lock=True)
            previous = uow.session.scalar(
                select(Visit)
                .where(
                    Visit.casino_id == actor.casino_id,
                    Visit.player_id == command.player_id,
                    Visit.status == VisitStatus.OPEN,
                )
                .with_for_update(key_share=True)
            )
            if previous is not None:
                if previous.gaming_day >= today:
                    raise DomainError(
                        ErrorCode.VISIT_ALREADY_OPEN,
                        "This player already has an open visit today; use it or close it.",
                        visit_id=str(previous.id),
                    )
                closed = _close(uow, actor, previous, reason="new gaming day")
        if command.table_id is not None:
            _table(uow, actor, command.table_id)
        visit = Visit(
            id=uuid.uuid4(),
            casino_id=actor.casino_id,
            player_id=command.player_id,
            visit_kind=command.kind,
            status=VisitStatus.OPEN,
            gaming_day=today,
            opened_at=uow.now(),
            opened_by=actor.staff_id,
            ghost_table_id=command.table_id,
            ghost_seat=command.seat,
            ghost_description=command.description,
            notes=command.notes,
        )
        uow.session.add(visit)
        uow.session.flush()
        _audit(
            uow,
            actor,
            "visit.opened",
            visit,
            None,
            command.model_dump(mode="json", exclude={"idempotency_key"}),
        )
        return VisitOpened(
            visit_id=visit.id,
            kind=visit.visit_kind,
            gaming_day=today,
            closed_previous_visit_id=previous.id if previous is not None else None,
            closed_slips=closed,
        )

    return run_idempotent(
        uow,
        actor,
        operation="visit.open",
        key=command.idempotency_key,
        request=command,
        result_type=VisitOpened,
        body=body,
    )


def close_visit(uow: UnitOfWork, actor: Actor, command: VisitCommand) -> VisitClosed:
    """Close the visit's slips (with accrual), then the visit."""
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(VisitCommand, command)

    def body() -> VisitClosed:
        visit = _open_visit_for_update(uow, actor, command.visit_id)
        closed = _close(uow, actor, visit, reason="closed by staff")
        assert visit.closed_at is not None
        return VisitClosed(visit_id=visit.id, closed_at=visit.closed_at, closed_slips=closed)

    return run_idempotent(
        uow,
        actor,
        operation="visit.close",
        key=command.idempotency_key,
        request=command,
        result_type=VisitClosed,
        body=body,
    )


def convert_to_gaming(uow: UnitOfWork, actor: Actor, command: VisitCommand) -> VisitConverted:
    """Reward-only → gaming rated: one way, open visits only."""
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(VisitCommand, command)

    def body() -> VisitConverted:
        visit = _open_visit_for_update(uow, actor, command.visit_id)
        if visit.visit_kind is not VisitKind.REWARD_IDENTIFIED:
            raise DomainError(
                ErrorCode.VISIT_NOT_CONVERTIBLE,
                "Only a reward-only visit converts to a rated gaming visit.",
                kind=visit.visit_kind.value,
            )
        visit.visit_kind = VisitKind.GAMING_IDENTIFIED_RATED
        visit.converted_at = uow.now()
        _audit(
            uow,
            actor,
            "visit.converted",
            visit,
            {"kind": VisitKind.REWARD_IDENTIFIED.value},
            {"kind": VisitKind.GAMING_IDENTIFIED_RATED.value},
        )
        return VisitConverted(visit_id=visit.id, kind=visit.visit_kind)

    return run_idempotent(
        uow,
        actor,
        operation="visit.convert",
        key=command.idempotency_key,
        request=command,
        result_type=VisitConverted,
        body=body,
    )


def associate_ghost(uow: UnitOfWork, actor: Actor, command: AssociateGhost) -> GhostAssociated:
    """Record who a ghost patron was (supervised, audited). Mints nothing, ever."""
    require(actor, Capability.ASSOCIATE_GHOST)
    command = parse(AssociateGhost, command)

    def body() -> GhostAssociated:
        visit = records.visit(uow, actor, command.visit_id, lock=True)
        if visit.visit_kind is not VisitKind.GAMING_GHOST_UNRATED:
            raise DomainError(ErrorCode.VISIT_NOT_GHOST, "Only a ghost visit can be associated.")
        if visit.associated_player_id is not None:
            raise DomainError(
                ErrorCode.VISIT_NOT_GHOST,
                "This ghost visit is already associated with a player.",
            )
        _player(uow, actor, command.player_id)
        visit.associated_player_id = command.player_id
        visit.associated_by = actor.staff_id
        visit.associated_at = uow.now()
        _audit(
            uow,
            actor,
            "visit.ghost_associated",
            visit,
            {"associated_player_id": None},
            {"associated_player_id": str(command.player_id), "points_granted": 0},
        )
        return GhostAssociated(visit_id=visit.id, player_id=command.player_id)

    return run_idempotent(
        uow,
        actor,
        operation="visit.associate_ghost",
        key=command.idempotency_key,
        request=command,
        result_type=GhostAssociated,
        body=body,
    )


def _close(uow: UnitOfWork, actor: Actor, visit: Visit, *, reason: str) -> list[ClosedSlip]:
    closed = close_live_slips(uow, actor, visit)
    visit.status = VisitStatus.CLOSED
    visit.closed_at = uow.now()
    visit.closed_by = actor.staff_id
    _audit(
        uow,
        actor,
        "visit.closed",
        visit,
        {"status": "open"},
        {"status": "closed", "reason": reason, "slips_closed": len(closed)},
    )
    return closed


def _player(uow: UnitOfWork, actor: Actor, player_id: uuid.UUID, *, lock: bool = False) -> Player:
    query = select(Player).where(Player.id == player_id, Player.casino_id == actor.casino_id)
    # Locking the player serialises two terminals opening visits for the same patron. FOR NO
    # KEY UPDATE, so rows that merely reference the player (a comp's ledger entry) need not
    # wait on it: with FOR UPDATE, opening a visit deadlocked with a comp for the same patron
    # that this pit boss was approving (found by tests/test_soak.py).
    player = uow.session.scalar(query.with_for_update(key_share=True) if lock else query)
    if player is None:
        raise DomainError(ErrorCode.PLAYER_NOT_FOUND, "No such player at this casino.")
    return player


def _table(uow: UnitOfWork, actor: Actor, table_id: uuid.UUID) -> GamingTable:
    table = uow.session.scalar(
        select(GamingTable).where(
            GamingTable.id == table_id, GamingTable.casino_id == actor.casino_id
        )
    )
    if table is None:
        raise DomainError(ErrorCode.TABLE_NOT_FOUND, "table: no such table at this casino.")
    return table


def _open_visit_for_update(uow: UnitOfWork, actor: Actor, visit_id: uuid.UUID) -> Visit:
    visit = records.visit(uow, actor, visit_id, lock=True)
    if visit.status is not VisitStatus.OPEN:
        raise DomainError(ErrorCode.VISIT_NOT_OPEN, "That visit is already closed.")
    return visit


def _audit(
    uow: UnitOfWork, actor: Actor, action: str, visit: Visit, before: Any, after: Any
) -> None:
    audit.by(uow, actor, action, "visit", visit.id, before, after)
