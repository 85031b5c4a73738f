"""The floor as staff see it: tables, their games and seats. A dealer sees only its table."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from pitterm.domain.accrual import PolicySnapshot, accrue, played_seconds
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import (
    GameType,
    SlipStatus,
    StaffRole,
    TableStatus,
    VisitKind,
    VisitStatus,
)
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import (
    GameSettings,
    GamingTable,
    Player,
    RatingSlip,
    RatingSlipPause,
    Staff,
    Visit,
)


class TableView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    label: str
    pit: str
    status: TableStatus
    seats: int
    game_name: str
    game_type: GameType
    house_edge: Decimal
    decisions_per_hour: int
    points_conversion_rate: Decimal
    min_bet_cents: int
    max_bet_cents: int


class LiveSlip(BaseModel):
    """A slip in play, with its points suggestion as of the overview's moment."""

    model_config = ConfigDict(frozen=True)

    slip_id: uuid.UUID
    visit_id: uuid.UUID
    visit_kind: VisitKind
    player_id: uuid.UUID | None
    patron: str
    table_id: uuid.UUID
    seat: int
    status: SlipStatus
    average_bet_cents: int
    started_at: datetime
    played_seconds: int
    theo: Decimal
    suggested_points: int
    snapshot: PolicySnapshot
    """The slip's frozen policy, so a screen can tick theo and points between overviews."""


class OpenVisitView(BaseModel):
    model_config = ConfigDict(frozen=True)

    visit_id: uuid.UUID
    kind: VisitKind
    player_id: uuid.UUID | None
    patron: str
    opened_at: datetime
    slip_id: uuid.UUID | None


class FloorTable(BaseModel):
    model_config = ConfigDict(frozen=True)

    table: TableView
    slips: list[LiveSlip]
    """Live slips at this table, by seat."""


class FloorView(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: datetime
    tables: list[FloorTable]
    visits: list[OpenVisitView]


def patron_label(first: str | None, last: str | None, ghost_description: str | None) -> str:
    if first is not None:
        return f"{first} {last}"
    return f"ghost: {ghost_description or 'unidentified'}"


def overview(
    uow: UnitOfWork, actor: Actor, *, pit: str | None = None, game_type: GameType | None = None
) -> FloorView:
    """Tables, the slips in play at each, and every open visit: three queries, no per-row I/O.

    The floor is read every few seconds by every terminal showing it, so the reads select
    the columns shown (no ORM objects to build) and the slips come with their pauses in one
    query.
    """
    tables = list_tables(uow, actor, pit=pit, game_type=game_type)
    with uow:
        now = uow.now()
        rows = uow.session.execute(
            select(
                RatingSlip.id,
                RatingSlip.table_id,
                RatingSlip.seat,
                RatingSlip.status,
                RatingSlip.average_bet_cents,
                RatingSlip.started_at,
                RatingSlip.policy_snapshot,
                Visit.id,
                Visit.visit_kind,
                Visit.player_id,
                Visit.ghost_description,
                Player.first_name,
                Player.last_name,
                RatingSlipPause.paused_at,
                RatingSlipPause.resumed_at,
            )
            .join(Visit, Visit.id == RatingSlip.visit_id)
            .outerjoin(Player, Player.id == Visit.player_id)
            .outerjoin(RatingSlipPause, RatingSlipPause.slip_id == RatingSlip.id)
            .where(
                RatingSlip.casino_id == actor.casino_id,
                RatingSlip.table_id.in_([t.id for t in tables]),
                RatingSlip.status.in_([SlipStatus.OPEN, SlipStatus.PAUSED]),
            )
            .order_by(RatingSlip.seat, RatingSlip.id)
        ).all()
        slips: dict[uuid.UUID, tuple[Any, list[tuple[datetime, datetime | None]]]] = {}
        for row in rows:
            slip_id, paused_at, resumed_at = row[0], row[13], row[14]
            found = slips.get(slip_id)
            if found is None:
                found = slips[slip_id] = (row, [])
            if paused_at is not None:
                found[1].append((paused_at, resumed_at))
        policies = _Policies()
        by_table: dict[uuid.UUID, list[LiveSlip]] = defaultdict(list)
        live_by_visit: dict[uuid.UUID, uuid.UUID] = {}
        for row, pauses in slips.values():
            (slip_id, table_id, seat, status, bet, started_at, policy) = row[:7]
            (visit_id, visit_kind, player_id, ghost_description, first, last) = row[7:13]
            played = played_seconds(started_at, now, pauses)
            snapshot = policies.of(policy)
            result = accrue(bet, played, snapshot)
            rated = visit_kind is VisitKind.GAMING_IDENTIFIED_RATED
            by_table[table_id].append(
                LiveSlip(
                    slip_id=slip_id,
                    visit_id=visit_id,
                    visit_kind=visit_kind,
                    player_id=player_id,
                    patron=patron_label(first, last, ghost_description),
                    table_id=table_id,
                    seat=seat,
                    status=status,
                    average_bet_cents=bet,
                    started_at=started_at,
                    played_seconds=played,
                    theo=result.theo,
                    suggested_points=result.points if rated else 0,
                    snapshot=snapshot,
                )
            )
            live_by_visit[visit_id] = slip_id
        visits = [] if actor.role is StaffRole.DEALER else _open_visits(uow, actor, live_by_visit)
        return FloorView(
            as_of=now,
            tables=[FloorTable(table=t, slips=by_table[t.id]) for t in tables],
            visits=visits,
        )


class _Policies:
    """Slips' frozen policies, each distinct one validated once (a floor's slips share few)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[tuple[str, Any], ...], PolicySnapshot] = {}

    def of(self, policy_snapshot: dict[str, Any]) -> PolicySnapshot:
        loyalty = policy_snapshot["loyalty"]
        try:
            key = tuple(sorted(loyalty.items()))
            found = self._seen.get(key)
        except (AttributeError, TypeError):  # not a flat mapping: validation says what is wrong
            return PolicySnapshot.model_validate(loyalty)
        if found is None:
            found = self._seen[key] = PolicySnapshot.model_validate(loyalty)
        return found


def _open_visits(
    uow: UnitOfWork, actor: Actor, live_by_visit: dict[uuid.UUID, uuid.UUID]
) -> list[OpenVisitView]:
    rows = uow.session.execute(
        select(
            Visit.id,
            Visit.visit_kind,
            Visit.player_id,
            Visit.ghost_description,
            Visit.opened_at,
            Player.first_name,
            Player.last_name,
        )
        .outerjoin(Player, Player.id == Visit.player_id)
        .where(Visit.casino_id == actor.casino_id, Visit.status == VisitStatus.OPEN)
        .order_by(Visit.opened_at, Visit.id)
    ).all()
    return [
        OpenVisitView(
            visit_id=visit_id,
            kind=kind,
            player_id=player_id,
            patron=patron_label(first, last, ghost_description),
            opened_at=opened_at,
            slip_id=live_by_visit.get(visit_id),
        )
        for visit_id, kind, player_id, ghost_description, opened_at, first, last in rows
    ]


def list_tables(
    uow: UnitOfWork, actor: Actor, *, pit: str | None = None, game_type: GameType | None = None
) -> list[TableView]:
    """Tables the actor may see, ordered by pit and label, optionally filtered."""
    with uow:
        query = (
            select(*_TABLE_COLUMNS)
            .join(GameSettings, GameSettings.id == GamingTable.game_settings_id)
            .where(GamingTable.casino_id == actor.casino_id)
            .order_by(GamingTable.pit, GamingTable.label)
        )
        if actor.role is StaffRole.DEALER:
            assigned = uow.session.scalar(
                select(Staff.assigned_table_id).where(Staff.id == actor.staff_id)
            )
            if assigned is None:
                return []
            query = query.where(GamingTable.id == assigned)
        elif not can(actor.role, Capability.VIEW_FLOOR):
            raise DomainError(ErrorCode.AUTH_FORBIDDEN, "This role may not view the floor.")
        if pit is not None:
            query = query.where(GamingTable.pit == pit)
        if game_type is not None:
            query = query.where(GameSettings.game_type == game_type)
        return [
            TableView(**dict(zip(_TABLE_FIELDS, row, strict=True)))
            for row in uow.session.execute(query).all()
        ]


_TABLE_COLUMNS = (
    GamingTable.id,
    GamingTable.label,
    GamingTable.pit,
    GamingTable.status,
    GamingTable.seats,
    GameSettings.name,
    GameSettings.game_type,
    GameSettings.house_edge,
    GameSettings.decisions_per_hour,
    GameSettings.points_conversion_rate,
    GameSettings.min_bet_cents,
    GameSettings.max_bet_cents,
)
_TABLE_FIELDS = (
    "id",
    "label",
    "pit",
    "status",
    "seats",
    "game_name",
    "game_type",
    "house_edge",
    "decisions_per_hour",
    "points_conversion_rate",
    "min_bet_cents",
    "max_bet_cents",
)
"""The TableView field each of _TABLE_COLUMNS fills."""
