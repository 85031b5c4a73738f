"""Ledger drift audit over the database (DESIGN §10): cached balances against the ledger.

The audit is one SQL statement per question — per-account sums grouped in the database,
compared with ``player_loyalty.current_balance``, classified and summarised there — so no
ledger row and no per-account round trip ever reaches Python. The drill-down reads one
account's entries to show its timeline and explain the drift (pitterm.domain.drift_rules).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Subquery, case, func, literal, select

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import UnitOfWork
from pitterm.domain.drift_file import DriftSummary
from pitterm.domain.drift_rules import Cause, DriftClass, Event, classify, explain, timeline
from pitterm.domain.enums import LedgerReason
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import LoyaltyLedger, Player, PlayerLoyalty

MAX_TOLERANCE = 1_000_000


class DriftedAccount(BaseModel):
    model_config = ConfigDict(frozen=True)

    player_id: uuid.UUID
    player_name: str
    cached: int
    computed: int
    drift: int
    drift_class: DriftClass
    entries: int


class AuditReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: datetime
    summary: DriftSummary
    accounts: list[DriftedAccount]
    """Accounts out of balance (minor or material), largest drift first."""


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry_id: uuid.UUID
    created_at: datetime
    reason: LedgerReason
    points_delta: int
    running_balance: int
    note: str | None


class DrillDown(BaseModel):
    model_config = ConfigDict(frozen=True)

    player_id: uuid.UUID
    player_name: str
    cached: int
    computed: int
    drift: int
    drift_class: DriftClass
    cause: Cause
    explanation: str
    diverged_after: uuid.UUID | None
    named_entry: uuid.UUID | None
    timeline: list[TimelineEntry]
    """Oldest first, with the running balance after each entry."""


def audit(
    uow: UnitOfWork,
    actor: Actor,
    tolerance: int,
    *,
    player_id: uuid.UUID | None = None,
    limit: int = 1_000,
) -> AuditReport:
    require(actor, Capability.RUN_DRIFT_AUDIT)
    _check_tolerance(tolerance)
    with uow:
        accounts = _accounts(actor, player_id)
        drift = accounts.c.drift
        summary_row = uow.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((func.abs(drift) <= tolerance, 1), else_=0)), 0),
                func.coalesce(
                    func.sum(
                        case(
                            (
                                (func.abs(drift) > tolerance) & (func.abs(drift) <= 10 * tolerance),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
                func.coalesce(func.sum(case((func.abs(drift) > 10 * tolerance, 1), else_=0)), 0),
                func.max(drift),
                func.min(drift),
            )
        ).one()
        checked, in_balance, minor, material, highest, lowest = summary_row
        rows = uow.session.execute(
            select(accounts)
            .where(func.abs(drift) > tolerance)
            .order_by(func.abs(drift).desc(), accounts.c.player_id)
            .limit(limit)
        ).all()
        drifted = [
            DriftedAccount(
                player_id=row.player_id,
                player_name=row.player_name,
                cached=row.cached,
                computed=row.computed,
                drift=row.drift,
                drift_class=classify(row.drift, tolerance),
                entries=row.entries,
            )
            for row in rows
        ]
        positive = _extreme(uow, accounts, highest) if highest and highest > 0 else None
        negative = _extreme(uow, accounts, lowest) if lowest and lowest < 0 else None
        return AuditReport(
            as_of=uow.now(),
            summary=DriftSummary(
                tolerance=tolerance,
                accounts_checked=checked,
                in_balance=in_balance,
                minor=minor,
                material=material,
                largest_positive=highest if positive else None,
                largest_positive_account=positive,
                largest_negative=lowest if negative else None,
                largest_negative_account=negative,
            ),
            accounts=drifted,
        )


def drill_down(uow: UnitOfWork, actor: Actor, player_id: uuid.UUID, tolerance: int) -> DrillDown:
    """One account's entries oldest first, the running balance, and the likely cause."""
    require(actor, Capability.RUN_DRIFT_AUDIT)
    _check_tolerance(tolerance)
    with uow:
        row = uow.session.execute(
            select(Player.first_name, Player.last_name, PlayerLoyalty.current_balance)
            .outerjoin(
                PlayerLoyalty,
                (PlayerLoyalty.player_id == Player.id)
                & (PlayerLoyalty.casino_id == Player.casino_id),
            )
            .where(Player.id == player_id, Player.casino_id == actor.casino_id)
        ).first()
        if row is None:
            raise DomainError(ErrorCode.LOYALTY_PLAYER_NOT_FOUND, "No such player at this casino.")
        first, last, cached = row
        entries = uow.session.scalars(
            select(LoyaltyLedger)
            .where(LoyaltyLedger.casino_id == actor.casino_id, LoyaltyLedger.player_id == player_id)
            .order_by(LoyaltyLedger.created_at, LoyaltyLedger.id)
        ).all()
        events = [Event(str(e.id), e.created_at, e.reason.value, e.points_delta) for e in entries]
        by_id = {str(e.id): e for e in entries}
        cached = cached or 0
        found = explain(events, cached, tolerance)
        rows = timeline(events)
        computed = rows[-1].running if rows else 0
        return DrillDown(
            player_id=player_id,
            player_name=f"{first} {last}",
            cached=cached,
            computed=computed,
            drift=cached - computed,
            drift_class=classify(cached - computed, tolerance),
            cause=found.cause,
            explanation=found.text,
            diverged_after=uuid.UUID(found.diverged_after) if found.diverged_after else None,
            named_entry=uuid.UUID(found.entry_id) if found.entry_id else None,
            timeline=[
                TimelineEntry(
                    entry_id=by_id[r.event.id].id,
                    created_at=r.event.at,
                    reason=by_id[r.event.id].reason,
                    points_delta=r.event.delta,
                    running_balance=r.running,
                    note=by_id[r.event.id].note,
                )
                for r in rows
            ],
        )


def _accounts(actor: Actor, player_id: uuid.UUID | None) -> Subquery:
    """Per account: cached balance, ledger sum and count, drift — grouped in SQL."""
    scope: list[ColumnElement[bool]] = [LoyaltyLedger.casino_id == actor.casino_id]
    accounts: list[ColumnElement[bool]] = [PlayerLoyalty.casino_id == actor.casino_id]
    if player_id is not None:
        scope.append(LoyaltyLedger.player_id == player_id)
        accounts.append(PlayerLoyalty.player_id == player_id)
    sums = (
        select(
            LoyaltyLedger.player_id.label("player_id"),
            func.sum(LoyaltyLedger.points_delta).label("computed"),
            func.count().label("entries"),
        )
        .where(*scope)
        .group_by(LoyaltyLedger.player_id)
        .subquery()
    )
    computed = func.coalesce(sums.c.computed, 0)
    return (
        select(
            PlayerLoyalty.player_id.label("player_id"),
            (Player.first_name + literal(" ") + Player.last_name).label("player_name"),
            PlayerLoyalty.current_balance.label("cached"),
            computed.label("computed"),
            func.coalesce(sums.c.entries, 0).label("entries"),
            (PlayerLoyalty.current_balance - computed).label("drift"),
        )
        .join(Player, Player.id == PlayerLoyalty.player_id)
        .outerjoin(sums, sums.c.player_id == PlayerLoyalty.player_id)
        .where(*accounts)
        .subquery()
    )


def _extreme(uow: UnitOfWork, accounts: Subquery, value: int) -> str | None:
    name = uow.session.scalar(
        select(accounts.c.player_name)
        .where(accounts.c.drift == value)
        .order_by(accounts.c.player_id)
        .limit(1)
    )
    return None if name is None else str(name)


def _check_tolerance(tolerance: int) -> None:
    if not 0 <= tolerance <= MAX_TOLERANCE:
        raise DomainError(
            ErrorCode.DRIFT_TOLERANCE_INVALID,
            f"tolerance: a whole number of points from 0 to {MAX_TOLERANCE:,}.",
        )


def report_csv(report: AuditReport) -> str:
    """The audit as CSV: a summary block, then every drifted account (formula-injection safe)."""
    s = report.summary
    summary_rows: list[list[object]] = [
        ["as_of", report.as_of.isoformat()],
        ["tolerance", s.tolerance],
        ["accounts_checked", s.accounts_checked],
        ["in_balance", s.in_balance],
        ["minor", s.minor],
        ["material", s.material],
        ["largest_positive", s.largest_positive, s.largest_positive_account],
        ["largest_negative", s.largest_negative, s.largest_negative_account],
        [],
    ]
    accounts = [
        [a.player_id, a.player_name, a.cached, a.computed, a.drift, a.drift_class.value, a.entries]
        for a in report.accounts
    ]
    return write_rows(["field", "value", "account"], summary_rows) + write_rows(
        ["player_id", "player", "cached", "computed", "drift", "class", "entries"], accounts
    )
