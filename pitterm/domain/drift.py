"""Ledger drift audit over the database (DESIGN §10): cached balances against the ledger.

The audit is one SQL statement per question — per-account sums grouped in the database,
compared with ``player_loyalty.current_balance``, classified and summarised there — so no
ledger row and no per-account round trip ever reaches Python. The drill-down reads one
account's entries to show its timeline and explain the drift (pitterm.domain.drift_rules).

Incremental re-audit works from checkpoints (``drift_checkpoint``: per player, the sum and
count of the entries taken in, and the cached balance as last audited) and change tracking
(``drift_change``: triggers on both backends append a row for every new ledger entry and
every change of a cached balance, in the writing transaction). A re-audit takes in exactly
the changes visible to it — the entries they name are visible too, having committed with
them — and deletes those changes, in one snapshot: on Postgres a single statement, on SQLite
a write transaction (writers are serialised there). A change committed later stays for the
next run. So the re-audit reads only the new entries, whatever their timestamps, and always
agrees with a full audit; the summary comes from the drifted checkpoints (a partial index)
and the casino's account count, never from the in-balance majority.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Delete,
    Insert,
    ScalarSelect,
    Subquery,
    Update,
    Uuid,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import UnitOfWork
from pitterm.domain.drift_file import DriftSummary
from pitterm.domain.drift_rules import Cause, DriftClass, Event, classify, explain, timeline
from pitterm.domain.enums import LedgerReason
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import (
    DriftChange,
    DriftCheckpoint,
    DriftHorizon,
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
)

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


class AuditKind(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"


class AuditReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: datetime
    kind: AuditKind
    scanned_entries: int
    """Ledger entries this run read: all of them in a full audit, the new ones otherwise."""
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

    With ``checkpoint`` (and no player filter) it also rebuilds the casino's checkpoints
    from the whole ledger, so that later ``audit_incremental`` runs read only new entries.
    """
    require(actor, Capability.RUN_DRIFT_AUDIT)
    _check_tolerance(tolerance)
    with uow:
        if checkpoint and player_id is None:
            _serialise(uow, actor)
        drifted, totals = _full_sources(actor, player_id)
        report = _report(uow, drifted, totals, tolerance, limit, AuditKind.FULL)
        if checkpoint and player_id is None:
            _rebuild_checkpoints(uow, actor)
            uow.commit()
        return report


def audit_incremental(
    uow: UnitOfWork, actor: Actor, tolerance: int, *, limit: int = 1_000
) -> AuditReport:
    """Re-audit from the checkpoints, reading only the ledger entries added since.

    A casino with no checkpoints yet gets a full audit that builds them.
    """
    require(actor, Capability.RUN_DRIFT_AUDIT)
    _check_tolerance(tolerance)
    with uow:
        _serialise(uow, actor)
        horizon = uow.session.get(DriftHorizon, actor.casino_id, populate_existing=True)
        if horizon is None:
            drifted, totals = _full_sources(actor, None)
            report = _report(uow, drifted, totals, tolerance, limit, AuditKind.FULL)
            _rebuild_checkpoints(uow, actor)
            uow.commit()
            return report
        scanned, accounts = _take_in_changes(uow, actor)
        drifted, totals = _checkpoint_sources(uow, actor, accounts, scanned)
        report = _report(uow, drifted, totals, tolerance, limit, AuditKind.INCREMENTAL)
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


def _full_sources(actor: Actor, player_id: uuid.UUID | None) -> tuple[CTE, Subquery]:
    """Every account's cached balance against its whole ledger, grouped in SQL.

    The per-account rows are materialised once and read twice: for the totals (accounts,
    entries) and for the drifted few, on which the summary, the extremes and the listed
    accounts are computed.
    """
    accounts: list[ColumnElement[bool]] = [PlayerLoyalty.casino_id == actor.casino_id]
    scope: list[ColumnElement[bool]] = [LoyaltyLedger.casino_id == actor.casino_id]
    if player_id is not None:
        accounts.append(PlayerLoyalty.player_id == player_id)
        scope.append(LoyaltyLedger.player_id == player_id)
    sums = _ledger_sums(scope)
    computed = func.coalesce(sums.c.computed, 0)
    rows = (
        select(
            PlayerLoyalty.player_id.label("player_id"),
            PlayerLoyalty.current_balance.label("cached"),
            computed.label("computed"),
            func.coalesce(sums.c.entries, 0).label("entries"),
            (PlayerLoyalty.current_balance - computed).label("drift"),
        )
        .outerjoin(sums, sums.c.player_id == PlayerLoyalty.player_id)
        .where(*accounts)
        .cte("accounts")
        .prefix_with("MATERIALIZED")
    )
    drifted = select(rows).where(rows.c.drift != 0).cte("drifted").prefix_with("MATERIALIZED")
    totals = select(
        func.count().label("checked"), func.coalesce(func.sum(rows.c.entries), 0).label("scanned")
    ).subquery("totals")
    return drifted, totals


def _ledger_sums(scope: list[ColumnElement[bool]]) -> Subquery:
    return (
        select(
            LoyaltyLedger.player_id.label("player_id"),
            func.sum(LoyaltyLedger.points_delta, type_=BigInteger).label("computed"),
            func.count().label("entries"),
        )
        .where(*scope)
        .group_by(LoyaltyLedger.player_id)
        .subquery("sums")
    )


def _checkpoint_sources(
    uow: UnitOfWork, actor: Actor, accounts: int, scanned: int
) -> tuple[CTE, Subquery]:
    """The drifted accounts as the (just updated) checkpoints have them, by partial index."""
    if uow.dialect == "postgresql":
        # The planner cannot estimate ``cached <> verified_sum`` (two columns: it assumes
        # nearly every row) and would read every checkpoint; the partial index holds
        # exactly the drifted ones. For the rest of this short transaction only.
        uow.session.execute(text("SET LOCAL enable_seqscan = off"))
    checkpoint = DriftCheckpoint
    drifted = (
        select(
            checkpoint.player_id.label("player_id"),
            checkpoint.cached.label("cached"),
            checkpoint.verified_sum.label("computed"),
            checkpoint.verified_entries.label("entries"),
            (checkpoint.cached - checkpoint.verified_sum).label("drift"),
        )
        .where(
            checkpoint.casino_id == actor.casino_id, checkpoint.cached != checkpoint.verified_sum
        )
        .cte("drifted")
        .prefix_with("MATERIALIZED")
    )
    totals = select(
        literal(accounts, BigInteger).label("checked"),
        literal(scanned, BigInteger).label("scanned"),
    ).subquery("totals")
    return drifted, totals


def _report(
    uow: UnitOfWork, drifted: CTE, totals: Subquery, tolerance: int, limit: int, kind: AuditKind
) -> AuditReport:
    """Summary, extremes and the listed accounts in one statement.

    ``drifted`` holds the accounts whose drift is not zero (every other account is in
    balance at any tolerance) and ``totals`` the number of accounts and entries read.
    Names are looked up by key for the shown accounts only.
    """
    drift = drifted.c.drift
    size = func.abs(drift)

    def name_of(player: ColumnElement[uuid.UUID] | ScalarSelect[uuid.UUID]) -> ScalarSelect[str]:
        return (
            select(Player.first_name + literal(" ") + Player.last_name)
            .where(Player.id == player)
            .scalar_subquery()
        )

    def extreme(order: ColumnElement[int]) -> ScalarSelect[uuid.UUID]:
        return (
            select(drifted.c.player_id)
            .order_by(order, drifted.c.player_id)
            .limit(1)
            .scalar_subquery()
        )

    summary = select(
        func.coalesce(
            func.sum(case(((size > tolerance) & (size <= 10 * tolerance), 1), else_=0)), 0
        ).label("minor"),
        func.coalesce(func.sum(case((size > 10 * tolerance, 1), else_=0)), 0).label("material"),
        func.max(drift).label("highest"),
        func.min(drift).label("lowest"),
        name_of(extreme(drift.desc())).label("highest_name"),
        name_of(extreme(drift.asc())).label("lowest_name"),
    ).subquery("summary")
    top = (
        select(drifted)
        .where(size > tolerance)
        .order_by(size.desc(), drifted.c.player_id)
        .limit(limit)
        .subquery("top")
    )
    shown = select(top, name_of(top.c.player_id).label("player_name")).subquery("shown")
    rows = uow.session.execute(
        select(totals, summary, shown)
        .select_from(totals.join(summary, true()).outerjoin(shown, true()))
        .order_by(func.abs(shown.c.drift).desc(), shown.c.player_id)
    ).all()
    first = rows[0]
    checked, minor, material = int(first.checked), int(first.minor), int(first.material)
    highest, lowest = first.highest, first.lowest
    return AuditReport(
        as_of=uow.now(),
        kind=kind,
        scanned_entries=int(first.scanned),
        summary=DriftSummary(
            tolerance=tolerance,
            accounts_checked=checked,
            in_balance=checked - minor - material,
            minor=minor,
            material=material,
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


# --- checkpoints --------------------------------------------------------------------------


def _serialise(uow: UnitOfWork, actor: Actor) -> None:
    """One checkpoint writer per casino at a time (SQLite: the write transaction already is).

    Taken before anything is read, so on Postgres every later statement of the transaction
    sees what a writer that held the lock before committed.
    """
    if uow.dialect == "postgresql":
        uow.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"pitterm.drift:{actor.casino_id}"},
        )
        # Checkpoints are derived data: a commit lost to a server crash loses the consumed
        # changes and the checkpoint updates together, and the next audit redoes them.
        uow.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _rebuild_checkpoints(uow: UnitOfWork, actor: Actor) -> None:
    """Every player's checkpoint recomputed from the whole ledger; pending changes dropped.

    The sums and the deletion of the changes they cover share one snapshot.
    """
    casino = actor.casino_id
    sums = _ledger_sums([LoyaltyLedger.casino_id == casino])
    accounts = (
        select(PlayerLoyalty.player_id, PlayerLoyalty.current_balance)
        .where(PlayerLoyalty.casino_id == casino)
        .subquery("balances")
    )
    everyone = (
        select(
            func.coalesce(sums.c.player_id, accounts.c.player_id).label("player_id"),
            func.coalesce(sums.c.computed, 0).label("total"),
            func.coalesce(sums.c.entries, 0).label("entries"),
            accounts.c.current_balance.label("cached"),
        )
        .select_from(sums.join(accounts, accounts.c.player_id == sums.c.player_id, full=True))
        .cte("everyone")
    )
    rows = select(
        literal(casino, Uuid),
        everyone.c.player_id,
        everyone.c.total,
        everyone.c.entries,
        everyone.c.cached,
    ).where(true())  # SQLite: a WHERE keeps the upsert's ON CONFLICT from reading as a join
    insert_ = _insert(uow)(DriftCheckpoint)
    merge = insert_.from_select(
        ["casino_id", "player_id", "verified_sum", "verified_entries", "cached"], rows
    ).on_conflict_do_update(
        index_elements=[DriftCheckpoint.casino_id, DriftCheckpoint.player_id],
        set_={
            "verified_sum": insert_.excluded.verified_sum,
            "verified_entries": insert_.excluded.verified_entries,
            "cached": insert_.excluded.cached,
        },
        # A checkpoint that already holds the right figures is left alone: a repeated full
        # audit rewrites only what changed, not every account.
        where=or_(
            DriftCheckpoint.verified_sum != insert_.excluded.verified_sum,
            DriftCheckpoint.verified_entries != insert_.excluded.verified_entries,
            DriftCheckpoint.cached.is_distinct_from(insert_.excluded.cached),
        ),
    )
    stale = delete(DriftCheckpoint).where(
        DriftCheckpoint.casino_id == casino,
        ~exists().where(everyone.c.player_id == DriftCheckpoint.player_id),
    )
    cleared = delete(DriftChange).where(DriftChange.casino_id == casino)
    horizon_insert = _insert(uow)(DriftHorizon)
    horizon = horizon_insert.from_select(
        ["casino_id", "accounts", "audited_at", "audited_by"],
        select(
            literal(casino, Uuid),
            func.count(everyone.c.cached),
            literal(uow.now(), DriftHorizon.audited_at.type),
            literal(actor.staff_id, Uuid),
        ).where(true()),
    ).on_conflict_do_update(
        index_elements=[DriftHorizon.casino_id],
        set_={
            "accounts": horizon_insert.excluded.accounts,
            "audited_at": horizon_insert.excluded.audited_at,
            "audited_by": horizon_insert.excluded.audited_by,
        },
    )
    _run_in_one_snapshot(uow, [cleared, merge, stale], horizon)


def _take_in_changes(uow: UnitOfWork, actor: Actor) -> tuple[int, int]:
    """Fold the pending changes into the checkpoints; (entries read, accounts now).

    Per changed player: the new entries' sum and count are added to its checkpoint, its
    cached balance is read again, and the casino's account count moves by the accounts
    that appeared or went.
    """
    casino = actor.casino_id
    pending = DriftChange.casino_id == casino
    claimed: CTE
    if uow.dialect == "postgresql":
        claimed = (
            delete(DriftChange)
            .where(pending)
            .returning(DriftChange.player_id, DriftChange.entry_id)
            .cte("claimed")
        )
    else:
        claimed = select(DriftChange.player_id, DriftChange.entry_id).where(pending).cte("claimed")
    # Every lookup is a correlated subquery by primary key: a probe per change, whatever
    # the planner believes about the tables' sizes (the change table's statistics swing
    # between millions of rows after a bulk load and none after the next audit).
    delta = (
        select(LoyaltyLedger.points_delta)
        .where(LoyaltyLedger.id == claimed.c.entry_id, LoyaltyLedger.casino_id == casino)
        .scalar_subquery()
    )
    # MATERIALIZED: Postgres would otherwise inline these and probe twice per row.
    read = select(claimed.c.player_id, delta.label("delta")).cte("read").prefix_with("MATERIALIZED")
    fresh = (
        select(
            read.c.player_id,
            func.coalesce(func.sum(read.c.delta), 0).label("total"),
            func.count(read.c.delta).label("entries"),
        )
        .group_by(read.c.player_id)
        .subquery("fresh")
    )
    now_cached = (
        select(PlayerLoyalty.current_balance)
        .where(PlayerLoyalty.player_id == fresh.c.player_id, PlayerLoyalty.casino_id == casino)
        .scalar_subquery()
    )
    was_cached = (
        select(DriftCheckpoint.cached)
        .where(DriftCheckpoint.player_id == fresh.c.player_id, DriftCheckpoint.casino_id == casino)
        .scalar_subquery()
    )
    looked_up = (
        select(fresh, now_cached.label("cached"), was_cached.label("was_cached"))
        .cte("looked_up")
        .prefix_with("MATERIALIZED")
    )
    changed = select(
        looked_up.c.player_id,
        looked_up.c.total,
        looked_up.c.entries,
        looked_up.c.cached,
        (
            case((looked_up.c.cached.is_not(None), 1), else_=0)
            - case((looked_up.c.was_cached.is_not(None), 1), else_=0)
        ).label("joined"),
    ).cte("changed")
    insert_ = _insert(uow)(DriftCheckpoint)
    merge = insert_.from_select(
        ["casino_id", "player_id", "verified_sum", "verified_entries", "cached"],
        select(
            literal(casino, Uuid),
            changed.c.player_id,
            changed.c.total,
            changed.c.entries,
            changed.c.cached,
        ).where(true()),
    ).on_conflict_do_update(
        index_elements=[DriftCheckpoint.casino_id, DriftCheckpoint.player_id],
        set_={
            "verified_sum": DriftCheckpoint.verified_sum + insert_.excluded.verified_sum,
            "verified_entries": DriftCheckpoint.verified_entries
            + insert_.excluded.verified_entries,
            "cached": insert_.excluded.cached,
        },
    )
    scanned = func.coalesce(func.sum(changed.c.entries), 0)
    moved = func.coalesce(func.sum(changed.c.joined), 0)
    connection = _connection(uow)
    if uow.dialect == "postgresql":
        horizon = (
            update(DriftHorizon)
            .where(DriftHorizon.casino_id == casino)
            .values(
                accounts=DriftHorizon.accounts + select(moved).scalar_subquery(),
                audited_at=uow.now(),
                audited_by=actor.staff_id,
            )
            .returning(select(scanned).scalar_subquery(), DriftHorizon.accounts)
            .add_cte(merge.cte("merged"))
        )
        read, accounts = connection.execute(horizon).one()
        return int(read), int(accounts)
    # SQLite: the counts first, while the checkpoints are as they were before the merge.
    read, joined = connection.execute(select(scanned, moved).select_from(changed)).one()
    connection.execute(merge)
    connection.execute(delete(DriftChange).where(pending))
    accounts = connection.execute(
        update(DriftHorizon)
        .where(DriftHorizon.casino_id == casino)
        .values(
            accounts=DriftHorizon.accounts + int(joined),
            audited_at=uow.now(),
            audited_by=actor.staff_id,
        )
        .returning(DriftHorizon.accounts)
    ).scalar_one()
    return int(read), int(accounts)


def _run_in_one_snapshot(
    uow: UnitOfWork, steps: list[Delete | Insert], last: Insert | Update
) -> None:
    """Postgres: the steps as data-modifying CTEs of ``last``, so all share one snapshot.

    SQLite: one after the other, in the write transaction (no other writer can interleave).
    """
    connection = _connection(uow)
    if uow.dialect == "postgresql":
        connection.execute(last.add_cte(*(step.cte(f"step_{n}") for n, step in enumerate(steps))))
        return
    for step in steps:
        connection.execute(step)
    connection.execute(last)


def _connection(uow: UnitOfWork) -> Connection:
    """Statements here name their casino explicitly; on Postgres RLS checks them too."""
    return uow.session.connection()


def _insert(uow: UnitOfWork) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.Insert if uow.dialect == "postgresql" else sqlite.Insert


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
