"""Ledger drift audit over the database (DESIGN §10): cached balances against the ledger.

The audit is one SQL statement per question — per-account sums grouped in the database,
compared with ``player_loyalty.current_balance``, classified and summarised there — so no
ledger row and no per-account round trip ever reaches Python. The drill-down reads one
account's entries to show its timeline and explain the drift (pitterm.domain.drift_rules).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    CTE,
    ColumnElement,
    ScalarSelect,
    Subquery,
    case,
    func,
    insert,
    literal,
    select,
    true,
    update,
)

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import UnitOfWork
from pitterm.domain.drift_file import DriftSummary
from pitterm.domain.drift_rules import Cause, DriftClass, Event, classify, explain, timeline
from pitterm.domain.enums import LedgerReason
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import (
    DriftCheckpoint,
    DriftHorizon,
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
)

MAX_TOLERANCE = 1_000_000
SETTLE = timedelta(minutes=5)
"""Entries younger than this are audited but not yet checkpointed: their transactions may
still be committing, and one committed later with an older stamp must not be skipped."""


class DriftedAccount(BaseModel):
    model_config = ConfigDict(frozen=True)

    player_id: uuid.UUID
    player_name: str
    cached: int
    computed: int
    drift: int
    drift_class: DriftClass
    entries: int


class AuditKind(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"


class AuditReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: datetime
    kind: AuditKind
    scanned_entries: int
    """Ledger entries this run read: all of them in a full audit, the fresh ones otherwise."""
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
    checkpoint: bool = False,
) -> AuditReport:
    """The full audit: every account against every one of its entries, grouped in SQL.

    With ``checkpoint`` it also records, per account, the sum verified through the settle
    horizon, so that later ``audit_incremental`` runs scan only newer entries.
    """
    require(actor, Capability.RUN_DRIFT_AUDIT)
    _check_tolerance(tolerance)
    with uow:
        report = _report(uow, _accounts(actor, player_id), tolerance, limit, AuditKind.FULL)
        if checkpoint and player_id is None:
            _rebuild_checkpoints(uow, actor, uow.now() - SETTLE)
            uow.commit()
        return report


def audit_incremental(
    uow: UnitOfWork, actor: Actor, tolerance: int, *, limit: int = 1_000
) -> AuditReport:
    """Re-audit from the checkpoints: only entries newer than the casino's horizon are read.

    Agrees with the full audit provided no ledger entry is written with a ``created_at``
    older than the settle window (entries come from short transactions stamped with the
    terminal's clock; ``SETTLE`` leaves time for those in flight to commit). A casino with
    no checkpoints yet gets a full audit that records them.
    """
    require(actor, Capability.RUN_DRIFT_AUDIT)
    _check_tolerance(tolerance)
    with uow:
        horizon = uow.session.scalar(
            select(DriftHorizon).where(DriftHorizon.casino_id == actor.casino_id).with_for_update()
        )
        if horizon is None:
            report = _report(uow, _accounts(actor, None), tolerance, limit, AuditKind.FULL)
            _rebuild_checkpoints(uow, actor, uow.now() - SETTLE)
            uow.commit()
            return report
        since = horizon.through_at
        until = max(since, uow.now() - SETTLE)
        fresh = _fresh_entries(actor, since, until)
        report = _report(
            uow, _accounts(actor, None, fresh), tolerance, limit, AuditKind.INCREMENTAL
        )
        settled = uow.session.execute(
            select(fresh.c.player_id, fresh.c.settled, fresh.c.settled_entries).where(
                fresh.c.settled_entries > 0
            )
        ).all()
        _write_checkpoints(
            uow, actor, {p: (int(total), int(n)) for p, total, n in settled}, add=True
        )
        horizon.through_at = until
        horizon.audited_at = uow.now()
        horizon.audited_by = actor.staff_id
        uow.commit()
        return report


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


def _accounts(actor: Actor, player_id: uuid.UUID | None, fresh: Subquery | None = None) -> CTE:
    """Per account: cached balance, ledger sum and count, drift — grouped in SQL.

    Without ``fresh`` the sums cover every entry; with it, they are the checkpoint's verified
    sum plus the fresh entries since the horizon.
    """
    accounts: list[ColumnElement[bool]] = [PlayerLoyalty.casino_id == actor.casino_id]
    if player_id is not None:
        accounts.append(PlayerLoyalty.player_id == player_id)
    if fresh is None:
        scope: list[ColumnElement[bool]] = [LoyaltyLedger.casino_id == actor.casino_id]
        if player_id is not None:
            scope.append(LoyaltyLedger.player_id == player_id)
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
        computed: ColumnElement[int] = func.coalesce(sums.c.computed, 0)
        entries: ColumnElement[int] = func.coalesce(sums.c.entries, 0)
        scanned: ColumnElement[int] = entries
        base = select(PlayerLoyalty).outerjoin(sums, sums.c.player_id == PlayerLoyalty.player_id)
    else:
        checkpoint = DriftCheckpoint
        computed = func.coalesce(checkpoint.verified_sum, 0) + func.coalesce(fresh.c.total, 0)
        entries = func.coalesce(checkpoint.verified_entries, 0) + func.coalesce(fresh.c.entries, 0)
        scanned = func.coalesce(fresh.c.entries, 0)
        base = (
            select(PlayerLoyalty)
            .outerjoin(
                checkpoint,
                (checkpoint.player_id == PlayerLoyalty.player_id)
                & (checkpoint.casino_id == PlayerLoyalty.casino_id),
            )
            .outerjoin(fresh, fresh.c.player_id == PlayerLoyalty.player_id)
        )
    # Materialised: the report reads it several times in one statement, computed once.
    return (
        base.with_only_columns(
            PlayerLoyalty.player_id.label("player_id"),
            PlayerLoyalty.current_balance.label("cached"),
            computed.label("computed"),
            entries.label("entries"),
            scanned.label("scanned"),
            (PlayerLoyalty.current_balance - computed).label("drift"),
        )
        .where(*accounts)
        .cte("accounts")
        .prefix_with("MATERIALIZED")
    )


def _fresh_entries(actor: Actor, since: datetime, until: datetime) -> Subquery:
    """Entries after the horizon, per player: all of them, and those settled by ``until``."""
    settled = LoyaltyLedger.created_at <= until
    return (
        select(
            LoyaltyLedger.player_id.label("player_id"),
            func.sum(LoyaltyLedger.points_delta).label("total"),
            func.count().label("entries"),
            func.coalesce(func.sum(case((settled, LoyaltyLedger.points_delta), else_=0)), 0).label(
                "settled"
            ),
            func.coalesce(func.sum(case((settled, 1), else_=0)), 0).label("settled_entries"),
        )
        .where(LoyaltyLedger.casino_id == actor.casino_id, LoyaltyLedger.created_at > since)
        .group_by(LoyaltyLedger.player_id)
        .subquery()
    )


def _report(
    uow: UnitOfWork, accounts: CTE, tolerance: int, limit: int, kind: AuditKind
) -> AuditReport:
    """Summary, extremes and the drifted accounts in one statement over the accounts CTE."""
    drift = accounts.c.drift
    size = func.abs(drift)
    name = (Player.first_name + literal(" ") + Player.last_name).label("player_name")

    def extreme(order: ColumnElement[int]) -> ScalarSelect[str]:
        return (
            select(name)
            .join(accounts, accounts.c.player_id == Player.id)
            .order_by(order, accounts.c.player_id)
            .limit(1)
            .scalar_subquery()
        )

    summary = select(
        func.count().label("checked"),
        func.coalesce(func.sum(case((size <= tolerance, 1), else_=0)), 0).label("in_balance"),
        func.coalesce(
            func.sum(case(((size > tolerance) & (size <= 10 * tolerance), 1), else_=0)), 0
        ).label("minor"),
        func.coalesce(func.sum(case((size > 10 * tolerance, 1), else_=0)), 0).label("material"),
        func.max(drift).label("highest"),
        func.min(drift).label("lowest"),
        func.coalesce(func.sum(accounts.c.scanned), 0).label("scanned"),
        extreme(drift.desc()).label("highest_name"),
        extreme(drift.asc()).label("lowest_name"),
    ).subquery("summary")
    top = (
        select(accounts, name)
        .join(Player, Player.id == accounts.c.player_id)
        .where(size > tolerance)
        .order_by(size.desc(), accounts.c.player_id)
        .limit(limit)
        .subquery("top")
    )
    rows = uow.session.execute(
        select(summary, top)
        .select_from(summary.outerjoin(top, true()))
        .order_by(func.abs(top.c.drift).desc(), top.c.player_id)
    ).all()
    first = rows[0]
    highest, lowest = first.highest, first.lowest
    return AuditReport(
        as_of=uow.now(),
        kind=kind,
        scanned_entries=int(first.scanned),
        summary=DriftSummary(
            tolerance=tolerance,
            accounts_checked=first.checked,
            in_balance=first.in_balance,
            minor=first.minor,
            material=first.material,
            largest_positive=highest if highest and highest > 0 else None,
            largest_positive_account=first.highest_name if highest and highest > 0 else None,
            largest_negative=lowest if lowest and lowest < 0 else None,
            largest_negative_account=first.lowest_name if lowest and lowest < 0 else None,
        ),
        accounts=[
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
            if row.player_id is not None
        ],
    )


def _rebuild_checkpoints(uow: UnitOfWork, actor: Actor, through: datetime) -> None:
    """Every account's verified sum through ``through``, recomputed from the whole ledger."""
    rows = uow.session.execute(
        select(LoyaltyLedger.player_id, func.sum(LoyaltyLedger.points_delta), func.count())
        .where(LoyaltyLedger.casino_id == actor.casino_id, LoyaltyLedger.created_at <= through)
        .group_by(LoyaltyLedger.player_id)
    ).all()
    _write_checkpoints(uow, actor, {p: (int(total), int(n)) for p, total, n in rows}, add=False)
    horizon = uow.session.get(DriftHorizon, actor.casino_id)
    if horizon is None:
        uow.session.add(
            DriftHorizon(
                casino_id=actor.casino_id,
                through_at=through,
                audited_at=uow.now(),
                audited_by=actor.staff_id,
            )
        )
    else:
        horizon.through_at = through
        horizon.audited_at = uow.now()
        horizon.audited_by = actor.staff_id


def _write_checkpoints(
    uow: UnitOfWork, actor: Actor, sums: dict[uuid.UUID, tuple[int, int]], *, add: bool
) -> None:
    """Insert new checkpoints and update existing ones (set, or add to), each in bulk."""
    if not sums:
        return
    query = select(
        DriftCheckpoint.player_id, DriftCheckpoint.verified_sum, DriftCheckpoint.verified_entries
    ).where(DriftCheckpoint.casino_id == actor.casino_id)
    if add:
        query = query.where(DriftCheckpoint.player_id.in_(list(sums)))
    existing = {p: (total, n) for p, total, n in uow.session.execute(query)}
    rows = []
    for player, (total, count) in sums.items():
        before_sum, before_count = existing.get(player, (0, 0)) if add else (0, 0)
        rows.append(
            {
                "casino_id": actor.casino_id,
                "player_id": player,
                "verified_sum": before_sum + total,
                "verified_entries": before_count + count,
            }
        )
    new = [row for row in rows if row["player_id"] not in existing]
    known = [row for row in rows if row["player_id"] in existing]
    if new:
        uow.session.execute(insert(DriftCheckpoint), new)
    if known:  # ORM bulk UPDATE by primary key: one executemany
        uow.session.execute(update(DriftCheckpoint), known)


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
