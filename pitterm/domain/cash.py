"""Buy-ins and cash-outs on visits, and the gaming day's CTR / MTL watch (DESIGN §4).

A patron is a player, or — for ghost play — the ghost visit itself. Cash in and cash out
are totalled separately per gaming day and judged against the casino's CTR threshold.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, case, func, select

from pitterm.domain import audit
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.casinos import current_gaming_day, load_settings
from pitterm.domain.ctr import CtrStatus, ctr_status, needs_mtl_line
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import CashDirection, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.floor import patron_label
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.tables import CashTransaction, GamingTable, Player, Visit
from pitterm.domain.validation import parse

MAX_CASH_CENTS = 10_000_000_00
"""Ten million dollars in one transaction is beyond any pit; above it is a typing error."""


class RecordCash(BaseModel):
    model_config = ConfigDict(frozen=True)

    visit_id: uuid.UUID
    direction: CashDirection
    amount_cents: int = Field(gt=0, le=MAX_CASH_CENTS)
    idempotency_key: uuid.UUID


class PatronTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    patron: str
    """Display label: the player's name, or 'ghost: <description>'."""
    player_id: uuid.UUID | None
    ghost_visit_id: uuid.UUID | None
    cash_in_cents: int
    cash_out_cents: int
    cash_in_status: CtrStatus
    cash_out_status: CtrStatus

    @property
    def worst(self) -> CtrStatus:
        order = [CtrStatus.OK, CtrStatus.NEAR, CtrStatus.DUE]
        return max(self.cash_in_status, self.cash_out_status, key=order.index)


class CashRecorded(Outcome):
    transaction_id: uuid.UUID
    gaming_day: date
    totals: PatronTotals
    mtl_line: bool


class MtlLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    transaction_id: uuid.UUID
    recorded_at: datetime
    patron: str
    direction: CashDirection
    amount_cents: int


class ComplianceDay(BaseModel):
    """Today's watch list: patrons near or over the CTR threshold, and the MTL lines."""

    model_config = ConfigDict(frozen=True)

    gaming_day: date
    threshold_cents: int
    near_fraction: str
    mtl_floor_cents: int
    patrons: list[PatronTotals]
    mtl: list[MtlLine]


def record_cash(uow: UnitOfWork, actor: Actor, command: RecordCash) -> CashRecorded:
    require(actor, Capability.RECORD_CASH)
    command = parse(RecordCash, command)

    def body() -> CashRecorded:
        visit = uow.session.scalar(
            select(Visit).where(Visit.id == command.visit_id, Visit.casino_id == actor.casino_id)
        )
        if visit is None:
            raise DomainError(ErrorCode.VISIT_NOT_FOUND, "No such visit at this casino.")
        settings = load_settings(uow, actor.casino_id)
        day = current_gaming_day(uow, actor.casino_id)
        row = CashTransaction(
            id=uuid.uuid4(),
            casino_id=actor.casino_id,
            visit_id=visit.id,
            player_id=visit.player_id,
            direction=command.direction,
            amount_cents=command.amount_cents,
            gaming_day=day,
            recorded_at=uow.now(),
            recorded_by=actor.staff_id,
        )
        uow.session.add(row)
        uow.session.flush()
        audit.record(
            uow,
            casino_id=actor.casino_id,
            staff_id=actor.staff_id,
            action=f"cash.{command.direction.value}",
            entity_type="cash_transaction",
            entity_id=row.id,
            after={
                "visit_id": str(visit.id),
                "amount_cents": command.amount_cents,
                "gaming_day": day.isoformat(),
            },
        )
        patron = (
            CashTransaction.player_id == visit.player_id
            if visit.player_id is not None
            else CashTransaction.visit_id == visit.id
        )
        totals = _totals(uow, actor, day, patron)
        return CashRecorded(
            transaction_id=row.id,
            gaming_day=day,
            totals=totals[0],
            mtl_line=needs_mtl_line(command.amount_cents, settings.mtl_floor_cents),
        )

    return run_idempotent(
        uow,
        actor,
        operation="cash.record",
        key=command.idempotency_key,
        request=command,
        result_type=CashRecorded,
        body=body,
    )


class CashTotals(BaseModel):
    """The gaming day's cash movement, for showing beside (never inside) promo figures."""

    model_config = ConfigDict(frozen=True)

    gaming_day: date
    cash_in_cents: int
    cash_out_cents: int
    transactions: int


def day_totals(uow: UnitOfWork, actor: Actor, day: date | None = None) -> CashTotals:
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        day = day or current_gaming_day(uow, actor.casino_id)
        cash_in, cash_out, count = uow.session.execute(
            select(
                func.coalesce(
                    func.sum(
                        case(
                            (
                                CashTransaction.direction == CashDirection.CASH_IN,
                                CashTransaction.amount_cents,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
                func.coalesce(
                    func.sum(
                        case(
                            (
                                CashTransaction.direction == CashDirection.CASH_OUT,
                                CashTransaction.amount_cents,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
                func.count(),
            ).where(CashTransaction.casino_id == actor.casino_id, CashTransaction.gaming_day == day)
        ).one()
        return CashTotals(
            gaming_day=day,
            cash_in_cents=int(cash_in),
            cash_out_cents=int(cash_out),
            transactions=int(count),
        )


def compliance_day(uow: UnitOfWork, actor: Actor, day: date | None = None) -> ComplianceDay:
    """Patrons whose cash in or out is above the near-CTR line, and every MTL line, for a day."""
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        settings = load_settings(uow, actor.casino_id)
        day = day or current_gaming_day(uow, actor.casino_id)
        watched = [t for t in _totals(uow, actor, day, None) if t.worst is not CtrStatus.OK]
        watched.sort(key=lambda t: -max(t.cash_in_cents, t.cash_out_cents))
        rows = uow.session.execute(
            select(CashTransaction, Player.first_name, Player.last_name, Visit.ghost_description)
            .join(Visit, Visit.id == CashTransaction.visit_id)
            .outerjoin(Player, Player.id == CashTransaction.player_id)
            .where(
                CashTransaction.casino_id == actor.casino_id,
                CashTransaction.gaming_day == day,
                CashTransaction.amount_cents >= settings.mtl_floor_cents,
            )
            .order_by(CashTransaction.recorded_at, CashTransaction.id)
        ).all()
        mtl = [
            MtlLine(
                transaction_id=tx.id,
                recorded_at=tx.recorded_at,
                patron=patron_label(first, last, ghost),
                direction=tx.direction,
                amount_cents=tx.amount_cents,
            )
            for tx, first, last, ghost in rows
        ]
        return ComplianceDay(
            gaming_day=day,
            threshold_cents=settings.ctr_threshold_cents,
            near_fraction=str(settings.near_ctr_fraction),
            mtl_floor_cents=settings.mtl_floor_cents,
            patrons=watched,
            mtl=mtl,
        )


def _totals(
    uow: UnitOfWork, actor: Actor, day: date, patron: ColumnElement[bool] | None
) -> list[PatronTotals]:
    """Per-patron totals for the day, one SQL aggregate (players by id, ghosts by visit)."""
    settings = load_settings(uow, actor.casino_id)
    ghost_key = case((CashTransaction.player_id.is_(None), CashTransaction.visit_id), else_=None)
    cash_in = func.sum(
        case(
            (CashTransaction.direction == CashDirection.CASH_IN, CashTransaction.amount_cents),
            else_=0,
        )
    )
    cash_out = func.sum(
        case(
            (CashTransaction.direction == CashDirection.CASH_OUT, CashTransaction.amount_cents),
            else_=0,
        )
    )
    query = (
        select(CashTransaction.player_id, ghost_key.label("ghost"), cash_in, cash_out)
        .where(CashTransaction.casino_id == actor.casino_id, CashTransaction.gaming_day == day)
        .group_by(CashTransaction.player_id, ghost_key)
    )
    if patron is not None:
        query = query.where(patron)
    sums = uow.session.execute(query).all()
    player_ids = [p for p, _, _, _ in sums if p is not None]
    ghost_ids = [g for _, g, _, _ in sums if g is not None]
    # A Result has .keys(), so dict(result) would read it as a mapping: list() it first.
    names: dict[uuid.UUID, str] = dict(
        list(
            uow.session.execute(
                select(Player.id, Player.first_name + " " + Player.last_name).where(
                    Player.id.in_(player_ids)
                )
            )
        )
    )
    ghosts = {
        visit_id: (description, label, seat)
        for visit_id, description, label, seat in uow.session.execute(
            select(Visit.id, Visit.ghost_description, GamingTable.label, Visit.ghost_seat)
            .outerjoin(GamingTable, GamingTable.id == Visit.ghost_table_id)
            .where(Visit.id.in_(ghost_ids), Visit.visit_kind == VisitKind.GAMING_GHOST_UNRATED)
        )
    }
    threshold, near = settings.ctr_threshold_cents, settings.near_ctr_fraction
    result = []
    for player_id, ghost_id, total_in, total_out in sums:
        if player_id is not None:
            label = names.get(player_id, "unknown player")
        else:
            description, table, seat = ghosts.get(ghost_id, (None, None, None))
            where = f" ({table} seat {seat})" if table else ""
            label = f"ghost: {description or 'unidentified'}{where}"
        result.append(
            PatronTotals(
                patron=label,
                player_id=player_id,
                ghost_visit_id=ghost_id,
                cash_in_cents=int(total_in or 0),
                cash_out_cents=int(total_out or 0),
                cash_in_status=ctr_status(int(total_in or 0), threshold, near),
                cash_out_status=ctr_status(int(total_out or 0), threshold, near),
            )
        )
    return result
