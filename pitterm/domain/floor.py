"""The floor as staff see it: tables, their games and seats. A dealer sees only its table."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

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
    """Tables, the slips in play at each, and every open visit: three queries, no per-row I/O."""
    tables = list_tables(uow, actor, pit=pit, game_type=game_type)
    table_ids = [t.id for t in tables]
    with uow:
        now = uow.now()
        rows = uow.session.execute(
            select(RatingSlip, Visit, Player.first_name, Player.last_name)
            .join(Visit, Visit.id == RatingSlip.visit_id)
            .outerjoin(Player, Player.id == Visit.player_id)
            .where(
                RatingSlip.casino_id == actor.casino_id,
                RatingSlip.table_id.in_(table_ids),
                RatingSlip.status.in_([SlipStatus.OPEN, SlipStatus.PAUSED]),
            )
            .order_by(RatingSlip.seat)
        ).all()
        pauses: dict[uuid.UUID, list[tuple[datetime, datetime | None]]] = defaultdict(list)
        for slip_id, paused_at, resumed_at in uow.session.execute(
            select(
                RatingSlipPause.slip_id, RatingSlipPause.paused_at, RatingSlipPause.resumed_at
            ).where(RatingSlipPause.slip_id.in_([slip.id for slip, *_ in rows]))
        ):
            pauses[slip_id].append((paused_at, resumed_at))
        by_table: dict[uuid.UUID, list[LiveSlip]] = defaultdict(list)
        live_by_visit: dict[uuid.UUID, uuid.UUID] = {}
        for slip, visit, first, last in rows:
            played = played_seconds(slip.started_at, now, pauses[slip.id])
            snapshot = PolicySnapshot.model_validate(slip.policy_snapshot["loyalty"])
            result = accrue(slip.average_bet_cents, played, snapshot)
            rated = visit.visit_kind is VisitKind.GAMING_IDENTIFIED_RATED
            by_table[slip.table_id].append(
                LiveSlip(
                    slip_id=slip.id,
                    visit_id=visit.id,
                    visit_kind=visit.visit_kind,
                    player_id=visit.player_id,
                    patron=patron_label(first, last, visit.ghost_description),
                    table_id=slip.table_id,
                    seat=slip.seat,
                    status=slip.status,
                    average_bet_cents=slip.average_bet_cents,
                    started_at=slip.started_at,
                    played_seconds=played,
                    theo=result.theo,
                    suggested_points=result.points if rated else 0,
                    snapshot=snapshot,
                )
            )
            live_by_visit[visit.id] = slip.id
        visits = [] if actor.role is StaffRole.DEALER else _open_visits(uow, actor, live_by_visit)
        return FloorView(
            as_of=now,
            tables=[FloorTable(table=t, slips=by_table[t.id]) for t in tables],
            visits=visits,
        )


def _open_visits(
    uow: UnitOfWork, actor: Actor, live_by_visit: dict[uuid.UUID, uuid.UUID]
) -> list[OpenVisitView]:
    rows = uow.session.execute(
        select(Visit, Player.first_name, Player.last_name)
        .outerjoin(Player, Player.id == Visit.player_id)
        .where(Visit.casino_id == actor.casino_id, Visit.status == VisitStatus.OPEN)
        .order_by(Visit.opened_at, Visit.id)
    ).all()
    return [
        OpenVisitView(
            visit_id=visit.id,
            kind=visit.visit_kind,
            player_id=visit.player_id,
            patron=patron_label(first, last, visit.ghost_description),
            opened_at=visit.opened_at,
            slip_id=live_by_visit.get(visit.id),
        )
        for visit, first, last in rows
    ]


def list_tables(
    uow: UnitOfWork, actor: Actor, *, pit: str | None = None, game_type: GameType | None = None
) -> list[TableView]:
    """Tables the actor may see, ordered by pit and label, optionally filtered."""
    with uow:
        query = (
            select(GamingTable, GameSettings)
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
        return [_view(table, game) for table, game in uow.session.execute(query).all()]


def _view(table: GamingTable, game: GameSettings) -> TableView:
    return TableView(
        id=table.id,
        label=table.label,
        pit=table.pit,
        status=table.status,
        seats=table.seats,
        game_name=game.name,
        game_type=game.game_type,
        house_edge=game.house_edge,
        decisions_per_hour=game.decisions_per_hour,
        points_conversion_rate=game.points_conversion_rate,
        min_bet_cents=game.min_bet_cents,
        max_bet_cents=game.max_bet_cents,
    )
