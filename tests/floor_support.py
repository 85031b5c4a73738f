"""Helpers for floor tests: enrol players, open visits and slips through the real services."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from pitterm.domain import players, slips, visits
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import LedgerReason, VisitKind
from pitterm.domain.tables import LoyaltyLedger, PlayerLoyalty


def key() -> uuid.UUID:
    return uuid.uuid4()


def enrol(
    database: Database,
    actor: Actor,
    first: str = "Rita",
    last: str = "Hayworth",
    card: str | None = None,
) -> uuid.UUID:
    return players.enrol(
        database.uow(actor),
        actor,
        players.NewPlayer(
            first_name=first,
            last_name=last,
            date_of_birth=date(1970, 5, 17),
            loyalty_card_number=card,
            idempotency_key=key(),
        ),
    ).player_id


def open_visit(
    database: Database,
    actor: Actor,
    kind: VisitKind,
    player_id: uuid.UUID | None = None,
    **ghost: object,
) -> uuid.UUID:
    request = {"kind": kind, "player_id": player_id, "idempotency_key": key(), **ghost}
    return visits.open_visit(database.uow(actor), actor, request).visit_id


def start(
    database: Database,
    actor: Actor,
    visit_id: uuid.UUID,
    table_id: uuid.UUID,
    seat: int = 1,
    bet_cents: int = 10_000,
) -> uuid.UUID:
    return slips.start_slip(
        database.uow(actor),
        actor,
        slips.StartSlip(
            visit_id=visit_id,
            table_id=table_id,
            seat=seat,
            average_bet_cents=bet_cents,
            idempotency_key=key(),
        ),
    ).slip_id


def close(
    database: Database, actor: Actor, slip_id: uuid.UUID, idempotency_key: uuid.UUID | None = None
) -> slips.ClosedSlip:
    return slips.close_slip(
        database.uow(actor),
        actor,
        slips.SlipCommand(slip_id=slip_id, idempotency_key=idempotency_key or key()),
    )


def ledger_entries(
    database: Database, scope: Scope, reason: LedgerReason | None = None
) -> list[LoyaltyLedger]:
    with database.reader(scope) as uow:
        query = select(LoyaltyLedger).order_by(LoyaltyLedger.created_at)
        if reason is not None:
            query = query.where(LoyaltyLedger.reason == reason)
        entries = list(uow.session.scalars(query))
        uow.session.expunge_all()  # keep the loaded rows usable after the reader rolls back
        return entries


def assert_balances_match_ledger(database: Database, scope: Scope) -> None:
    with database.reader(scope) as uow:
        query = select(LoyaltyLedger.player_id, func.sum(LoyaltyLedger.points_delta))
        sums = dict(list(uow.session.execute(query.group_by(LoyaltyLedger.player_id))))
        for account in uow.session.scalars(select(PlayerLoyalty)):
            assert account.current_balance == (sums.get(account.player_id) or 0), account.player_id
