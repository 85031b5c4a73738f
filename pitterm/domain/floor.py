"""The floor as staff see it: tables, their games and seats. A dealer sees only its table."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import GameType, StaffRole, TableStatus
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import GameSettings, GamingTable, Staff


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
