"""Rating slips (DESIGN §5): play at a table seat, paused and resumed, moved, closed with accrual.

A slip freezes its table's game settings as a policy snapshot when it starts, so later
changes to the game never change its points. Closing a slip of an identified, rated visit
mints exactly one ``base_accrual`` entry; a ghost slip records theo and mints nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam, literal_column, select, update

from pitterm.domain import audit, ledger, records
from pitterm.domain.accrual import PolicySnapshot, accrue, played_seconds, theo_display
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.database import Direct, UnitOfWork, table_of
from pitterm.domain.enums import LedgerReason, SlipStatus, TableStatus, VisitKind, VisitStatus
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome, run_idempotent, run_idempotent_from, with_outcome
from pitterm.domain.tables import (
    GameSettings,
    GamingTable,
    LoyaltyLedger,
    RatingSlip,
    RatingSlipBet,
    RatingSlipPause,
    Visit,
)
from pitterm.domain.validation import parse

MAX_BET_CENTS = 100_000_000_00
"""No table takes a bet of a hundred million dollars; anything above is a typing error."""
ACCRUAL_KEY_NAMESPACE = uuid.UUID("6d1f3e0a-3c55-4a7e-9d0b-2f4f1c1b7a10")
GAMING_KINDS = frozenset({VisitKind.GAMING_IDENTIFIED_RATED, VisitKind.GAMING_GHOST_UNRATED})


class StartSlip(BaseModel):
    model_config = ConfigDict(frozen=True)

    visit_id: uuid.UUID
    table_id: uuid.UUID
    seat: int
    average_bet_cents: int
    idempotency_key: uuid.UUID


class ChangeBet(BaseModel):
    model_config = ConfigDict(frozen=True)

    slip_id: uuid.UUID
    average_bet_cents: int
    idempotency_key: uuid.UUID


class SlipCommand(BaseModel):
    """Pause, resume or close: the slip and the request's key."""

    model_config = ConfigDict(frozen=True)

    slip_id: uuid.UUID
    idempotency_key: uuid.UUID


class MoveSlip(BaseModel):
    model_config = ConfigDict(frozen=True)

    slip_id: uuid.UUID
    table_id: uuid.UUID
    seat: int
    idempotency_key: uuid.UUID


class SlipRef(Outcome):
    slip_id: uuid.UUID
    status: SlipStatus


class ClosedSlip(Outcome):
    """What a close did: the calculation's inputs and result, and the ledger entry if minted."""

    slip_id: uuid.UUID
    visit_id: uuid.UUID
    visit_kind: VisitKind
    started_at: datetime
    closed_at: datetime
    paused_seconds: int
    played_seconds: int
    average_bet_cents: int
    snapshot: PolicySnapshot
    theo: Decimal
    points: int
    minted: bool
    not_minted_reason: str | None = None
    ledger_entry_id: uuid.UUID | None = None
    balance_after: int | None = None


class Moved(Outcome):
    closed: ClosedSlip
    new_slip_id: uuid.UUID


class Suggestion(BaseModel):
    """A read-only estimate for comp decisions: theo and points of an open slip as of now."""

    model_config = ConfigDict(frozen=True)

    slip_id: uuid.UUID
    as_of: datetime
    started_at: datetime
    paused_seconds: int
    played_seconds: int
    average_bet_cents: int
    snapshot: PolicySnapshot
    """The policy frozen at the slip's start: what the points will be computed with."""
    theo: Decimal
    points: int
    rated: bool
    policy_version: str = Field(min_length=1)


class SlipSource(Protocol):
    """What accrual metadata and audit rows read of a slip (an ORM row or a LockedSlip)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def casino_id(self) -> uuid.UUID: ...
    @property
    def table_id(self) -> uuid.UUID: ...
    @property
    def seat(self) -> int: ...
    @property
    def status(self) -> SlipStatus: ...


class VisitDay(Protocol):
    @property
    def gaming_day(self) -> date: ...


class VisitState(Protocol):
    """What starting a slip needs of its visit."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def status(self) -> VisitStatus: ...
    @property
    def visit_kind(self) -> VisitKind: ...


@dataclass(frozen=True)
class LockedVisit:
    id: uuid.UUID
    status: VisitStatus
    visit_kind: VisitKind
    player_id: uuid.UUID | None
    gaming_day: date


@dataclass(frozen=True)
class LockedSlip:
    """A slip read under its row lock, with its visit and the base accrual it minted (if any)."""

    id: uuid.UUID
    casino_id: uuid.UUID
    table_id: uuid.UUID
    seat: int
    status: SlipStatus
    average_bet_cents: int
    policy_snapshot: dict[str, Any]
    started_at: datetime
    visit: LockedVisit
    accrual_id: uuid.UUID | None
    accrual_points: int | None

    @classmethod
    def of(cls, row: Any) -> LockedSlip:
        return cls(
            id=row.id,
            casino_id=row.casino_id,
            table_id=row.table_id,
            seat=row.seat,
            status=row.status,
            average_bet_cents=row.average_bet_cents,
            policy_snapshot=row.policy_snapshot,
            started_at=row.started_at,
            visit=LockedVisit(
                id=row.visit_id,
                status=row.visit_status,
                visit_kind=row.visit_kind,
                player_id=row.player_id,
                gaming_day=row.gaming_day,
            ),
            accrual_id=row.accrual_id,
            accrual_points=row.accrual_points,
        )


# Core statements of the close path (the busiest write after comps). Each names the casino.
_SLIPS = table_of(RatingSlip)
_VISITS = table_of(Visit)
_PAUSE_ROWS = table_of(RatingSlipPause)
_ENTRIES = table_of(LoyaltyLedger)
_LOCK_SLIPS = (
    select(
        _SLIPS.c.id,
        _SLIPS.c.casino_id,
        _SLIPS.c.table_id,
        _SLIPS.c.seat,
        _SLIPS.c.status,
        _SLIPS.c.average_bet_cents,
        _SLIPS.c.policy_snapshot,
        _SLIPS.c.started_at,
        _SLIPS.c.visit_id,
        _VISITS.c.status.label("visit_status"),
        _VISITS.c.visit_kind,
        _VISITS.c.player_id,
        _VISITS.c.gaming_day,
        _ENTRIES.c.id.label("accrual_id"),
        _ENTRIES.c.points_delta.label("accrual_points"),
    )
    .select_from(
        _SLIPS.join(
            _VISITS,
            (_VISITS.c.id == _SLIPS.c.visit_id) & (_VISITS.c.casino_id == _SLIPS.c.casino_id),
        ).outerjoin(
            # Literals, not parameters: the unique partial index on base accruals matches.
            _ENTRIES,
            (_ENTRIES.c.casino_id == _SLIPS.c.casino_id)
            & (_ENTRIES.c.source_kind == literal_column("'rating_slip'"))
            & (_ENTRIES.c.source_id == _SLIPS.c.id)
            & (_ENTRIES.c.reason == literal_column("'base_accrual'")),
        )
    )
    .where(_SLIPS.c.casino_id == bindparam("casino"))
    .with_for_update(of=_SLIPS)
)
_LOCK_ONE_STATEMENT = _LOCK_SLIPS.where(_SLIPS.c.id == bindparam("slip"))
_LOCK_ONE = Direct(_LOCK_ONE_STATEMENT)
_LOCK_TO_CLOSE = with_outcome(_LOCK_ONE_STATEMENT, _SLIPS)
"""The slip locked as ``_LOCK_ONE`` does, with the stored outcome of the close's key."""
_LOCK_LIVE_OF_VISIT = _LOCK_SLIPS.where(
    _SLIPS.c.visit_id == bindparam("visit"),
    _SLIPS.c.status.in_([SlipStatus.OPEN, SlipStatus.PAUSED]),
)
_PAUSES = Direct(
    select(_PAUSE_ROWS.c.id, _PAUSE_ROWS.c.paused_at, _PAUSE_ROWS.c.resumed_at).where(
        _PAUSE_ROWS.c.slip_id == bindparam("slip"), _PAUSE_ROWS.c.casino_id == bindparam("casino")
    )
)
_RESUME = Direct(
    update(_PAUSE_ROWS)
    .where(
        _PAUSE_ROWS.c.slip_id == bindparam("slip"),
        _PAUSE_ROWS.c.casino_id == bindparam("casino"),
        _PAUSE_ROWS.c.resumed_at.is_(None),
    )
    .values(resumed_at=bindparam("now"))
)
_CLOSE = Direct(
    update(_SLIPS)
    .where(_SLIPS.c.id == bindparam("slip"), _SLIPS.c.casino_id == bindparam("casino"))
    .values(
        status=bindparam("new_status"),
        closed_at=bindparam("new_closed_at"),
        closed_by=bindparam("new_closed_by"),
        played_seconds=bindparam("new_played_seconds"),
        theo=bindparam("new_theo"),
        points=bindparam("new_points"),
    )
)


def accrual_key(slip_id: uuid.UUID) -> uuid.UUID:
    """The ledger idempotency key of a slip's base accrual: one per slip, whoever closes it."""
    return uuid.uuid5(ACCRUAL_KEY_NAMESPACE, f"base_accrual:{slip_id}")


def start_slip(uow: UnitOfWork, actor: Actor, command: StartSlip) -> SlipRef:
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(StartSlip, command)

    def body() -> SlipRef:
        visit = records.visit(uow, actor, command.visit_id, lock=True)
        slip = _start(uow, actor, visit, command.table_id, command.seat, command.average_bet_cents)
        return SlipRef(slip_id=slip.id, status=slip.status)

    return run_idempotent(
        uow,
        actor,
        operation="slip.start",
        key=command.idempotency_key,
        request=command,
        result_type=SlipRef,
        body=body,
    )


def change_bet(uow: UnitOfWork, actor: Actor, command: ChangeBet) -> SlipRef:
    """Record a new average bet; the history keeps every value with who and when."""
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(ChangeBet, command)

    def body() -> SlipRef:
        slip = _live_slip_for_update(uow, actor, command.slip_id)
        game = _game_of(uow, slip.table_id)
        _check_bet(command.average_bet_cents, game)
        before = slip.average_bet_cents
        slip.average_bet_cents = command.average_bet_cents
        uow.session.add(
            RatingSlipBet(
                id=uuid.uuid4(),
                casino_id=actor.casino_id,
                slip_id=slip.id,
                average_bet_cents=command.average_bet_cents,
                changed_at=uow.now(),
                changed_by=actor.staff_id,
            )
        )
        _audit(
            uow,
            actor,
            "slip.bet_changed",
            slip,
            {"average_bet_cents": before},
            {"average_bet_cents": command.average_bet_cents},
        )
        return SlipRef(slip_id=slip.id, status=slip.status)

    return run_idempotent(
        uow,
        actor,
        operation="slip.change_bet",
        key=command.idempotency_key,
        request=command,
        result_type=SlipRef,
        body=body,
    )


def pause_slip(uow: UnitOfWork, actor: Actor, command: SlipCommand) -> SlipRef:
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(SlipCommand, command)

    def body() -> SlipRef:
        slip = _slip(uow, actor, command.slip_id, lock=True)
        if slip.status is not SlipStatus.OPEN:
            raise _state(slip, "paused")
        slip.status = SlipStatus.PAUSED
        uow.session.add(
            RatingSlipPause(
                id=uuid.uuid4(), casino_id=actor.casino_id, slip_id=slip.id, paused_at=uow.now()
            )
        )
        _audit(uow, actor, "slip.paused", slip, {"status": "open"}, {"status": "paused"})
        return SlipRef(slip_id=slip.id, status=slip.status)

    return run_idempotent(
        uow,
        actor,
        operation="slip.pause",
        key=command.idempotency_key,
        request=command,
        result_type=SlipRef,
        body=body,
    )


def resume_slip(uow: UnitOfWork, actor: Actor, command: SlipCommand) -> SlipRef:
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(SlipCommand, command)

    def body() -> SlipRef:
        slip = _slip(uow, actor, command.slip_id, lock=True)
        if slip.status is not SlipStatus.PAUSED:
            raise _state(slip, "resumed")
        pause = uow.session.scalars(
            select(RatingSlipPause).where(
                RatingSlipPause.slip_id == slip.id, RatingSlipPause.resumed_at.is_(None)
            )
        ).one()
        pause.resumed_at = uow.now()
        slip.status = SlipStatus.OPEN
        _audit(uow, actor, "slip.resumed", slip, {"status": "paused"}, {"status": "open"})
        return SlipRef(slip_id=slip.id, status=slip.status)

    return run_idempotent(
        uow,
        actor,
        operation="slip.resume",
        key=command.idempotency_key,
        request=command,
        result_type=SlipRef,
        body=body,
    )


def close_slip(uow: UnitOfWork, actor: Actor, command: SlipCommand) -> ClosedSlip:
    """Close with accrual. Repeating the same request returns the same result, marked existing."""
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(SlipCommand, command)

    def body(first: Any | None) -> ClosedSlip:
        if first is None:
            raise _no_slip()
        slip = LockedSlip.of(first)
        if slip.status is SlipStatus.CLOSED:
            raise _state(slip, "closed")
        return close_locked(uow, actor, slip)

    return run_idempotent_from(
        uow,
        actor,
        operation="slip.close",
        key=command.idempotency_key,
        request=command,
        result_type=ClosedSlip,
        first=_LOCK_TO_CLOSE,
        parameters={"casino": actor.casino_id, "slip": command.slip_id},
        body=body,
    )


def move_slip(uow: UnitOfWork, actor: Actor, command: MoveSlip) -> Moved:
    """Close at the old table (with accrual) and open at the new one, in the same visit."""
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    command = parse(MoveSlip, command)

    def body() -> Moved:
        slip = _lock(uow, actor, command.slip_id)
        if slip.status is SlipStatus.CLOSED:
            raise _state(slip, "changed")
        if slip.table_id == command.table_id and slip.seat == command.seat:
            raise DomainError(ErrorCode.SEAT_INVALID, "seat: the player is already in that seat.")
        _check_table_and_seat(uow, actor, command.table_id, command.seat)
        closed = close_locked(uow, actor, slip)
        new = _start(uow, actor, slip.visit, command.table_id, command.seat, slip.average_bet_cents)
        return Moved(closed=closed, new_slip_id=new.id)

    return run_idempotent(
        uow,
        actor,
        operation="slip.move",
        key=command.idempotency_key,
        request=command,
        result_type=Moved,
        body=body,
    )


def suggestion(uow: UnitOfWork, actor: Actor, slip_id: uuid.UUID) -> Suggestion:
    """Theo and points the slip would earn if it closed now. Writes nothing."""
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        slip = _slip(uow, actor, slip_id)
        visit = _visit_of(uow, slip)
        now = slip.closed_at or uow.now()
        played = played_seconds(slip.started_at, now, _pauses(uow, actor, slip.id))
        snapshot = _snapshot(slip.policy_snapshot)
        result = accrue(slip.average_bet_cents, played, snapshot)
        rated = visit.visit_kind is VisitKind.GAMING_IDENTIFIED_RATED
        return Suggestion(
            slip_id=slip.id,
            as_of=now,
            started_at=slip.started_at,
            paused_seconds=max(0, int((now - slip.started_at).total_seconds()) - played),
            played_seconds=played,
            average_bet_cents=slip.average_bet_cents,
            snapshot=snapshot,
            theo=result.theo,
            points=result.points if rated else 0,
            rated=rated,
            policy_version=snapshot.policy_version,
        )


def close_live_slips(uow: UnitOfWork, actor: Actor, visit: Visit) -> list[ClosedSlip]:
    """Close every open or paused slip of a visit (used when the visit closes)."""
    rows = uow.execute(_LOCK_LIVE_OF_VISIT, {"casino": actor.casino_id, "visit": visit.id})
    return [close_locked(uow, actor, LockedSlip.of(row)) for row in rows.all()]


def close_locked(uow: UnitOfWork, actor: Actor, slip: LockedSlip) -> ClosedSlip:
    """Close a slip whose row the caller has locked: compute, record, mint if rated."""
    now = uow.now()
    pauses = uow.execute(_PAUSES, {"casino": actor.casino_id, "slip": slip.id}).all()
    for pause in pauses:
        if pause.resumed_at is None:
            uow.execute(_RESUME, {"casino": actor.casino_id, "slip": slip.id, "now": now})
            uow.synchronize(RatingSlipPause, pause.id, resumed_at=now)
    played = played_seconds(slip.started_at, now, [(p.paused_at, p.resumed_at) for p in pauses])
    paused = max(0, int((now - slip.started_at).total_seconds()) - played)
    snapshot = _snapshot(slip.policy_snapshot)
    result = accrue(slip.average_bet_cents, played, snapshot)
    visit = slip.visit
    rated = visit.visit_kind is VisitKind.GAMING_IDENTIFIED_RATED and visit.player_id is not None
    closing = {
        "status": SlipStatus.CLOSED,
        "closed_at": now,
        "closed_by": actor.staff_id,
        "played_seconds": played,
        "theo": result.theo,
        "points": result.points if rated else None,
    }
    new_values = {f"new_{name}": value for name, value in closing.items()}
    uow.execute(_CLOSE, {"casino": actor.casino_id, "slip": slip.id, **new_values})
    uow.synchronize(RatingSlip, slip.id, **closing)
    closed = ClosedSlip(
        slip_id=slip.id,
        visit_id=visit.id,
        visit_kind=visit.visit_kind,
        started_at=slip.started_at,
        closed_at=now,
        paused_seconds=paused,
        played_seconds=played,
        average_bet_cents=slip.average_bet_cents,
        snapshot=snapshot,
        theo=result.theo,
        points=result.points if rated else 0,
        minted=False,
    )
    if rated and visit.player_id is not None:
        closed = _mint(uow, actor, slip, visit.player_id, closed)
    else:
        closed = closed.model_copy(
            update={
                "not_minted_reason": (
                    "Ghost play is unrated: theo is recorded for finance and compliance,"
                    " and no loyalty points are minted."
                )
            }
        )
    _audit(
        uow,
        actor,
        "slip.closed",
        slip,
        {"status": slip.status.value},
        {
            "status": "closed",
            "played_seconds": played,
            "theo": str(result.theo),
            "points": closed.points,
            "minted": closed.minted,
        },
    )
    return closed


def _mint(
    uow: UnitOfWork,
    actor: Actor,
    slip: LockedSlip,
    player_id: uuid.UUID,
    closed: ClosedSlip,
) -> ClosedSlip:
    if slip.accrual_id is not None:  # a slip mints once, whatever happens
        account = ledger.lock(uow, actor.casino_id, player_id)
        return closed.model_copy(
            update={
                "minted": True,
                "ledger_entry_id": slip.accrual_id,
                "points": slip.accrual_points,
                "balance_after": account.current_balance,
            }
        )
    posted = ledger.post(
        uow,
        casino_id=actor.casino_id,
        player_id=player_id,
        points_delta=closed.points,
        reason=LedgerReason.BASE_ACCRUAL,
        staff_id=actor.staff_id,
        idempotency_key=accrual_key(slip.id),
        source_kind="rating_slip",
        source_id=slip.id,
        rating_slip_id=slip.id,
        visit_id=slip.visit.id,
        metadata=accrual_metadata(slip, slip.visit, closed),
    )
    return closed.model_copy(
        update={
            "minted": True,
            "ledger_entry_id": posted.entry_id,
            "balance_after": posted.balance_after,
        }
    )


def accrual_metadata(slip: SlipSource, visit: VisitDay, closed: ClosedSlip) -> dict[str, Any]:
    """Seed 003 Appendix D's shape: every input, so the entry explains itself."""
    snap = closed.snapshot
    return {
        "source": {
            "kind": "rating_slip",
            "id": str(slip.id),
            "casino_id": str(slip.casino_id),
            "gaming_day": visit.gaming_day.isoformat(),
            "table_id": str(slip.table_id),
            "seat": slip.seat,
        },
        "calc": {
            "average_bet": str(Decimal(closed.average_bet_cents) / 100),
            "average_bet_cents": closed.average_bet_cents,
            "started_at": closed.started_at.isoformat(),
            "closed_at": closed.closed_at.isoformat(),
            "paused_seconds": closed.paused_seconds,
            "played_seconds": closed.played_seconds,
            "duration_minutes": str(Decimal(closed.played_seconds) / 60),
            "house_edge_pct": str(snap.house_edge),
            "decisions_per_hour": snap.decisions_per_hour,
            "conversion_rate": str(snap.points_conversion_rate),
            "theo": str(theo_display(closed.theo)),
            "theo_exact": str(closed.theo),
            "base_points": closed.points,
            "rounding": snap.rounding.value,
        },
        "policy": {
            "snapshot_ref": "rating_slip.policy_snapshot",
            "version": snap.policy_version,
        },
    }


def _start(
    uow: UnitOfWork, actor: Actor, visit: VisitState, table_id: uuid.UUID, seat: int, bet: int
) -> RatingSlip:
    if visit.status is not VisitStatus.OPEN:
        raise DomainError(ErrorCode.VISIT_NOT_OPEN, "That visit is closed; open a new one.")
    if visit.visit_kind not in GAMING_KINDS:
        raise DomainError(
            ErrorCode.VISIT_NOT_GAMING,
            "A reward-only visit carries no rating slip; convert it to a gaming visit first.",
        )
    live = uow.session.scalar(
        select(RatingSlip.id).where(
            RatingSlip.visit_id == visit.id,
            RatingSlip.status.in_([SlipStatus.OPEN, SlipStatus.PAUSED]),
        )
    )
    if live is not None:
        raise DomainError(
            ErrorCode.SLIP_ALREADY_LIVE,
            "This visit already has a slip in play; move or close it first.",
        )
    table, game = _check_table_and_seat(uow, actor, table_id, seat)
    _check_bet(bet, game)
    now = uow.now()
    snapshot = PolicySnapshot(
        house_edge=game.house_edge,
        decisions_per_hour=game.decisions_per_hour,
        points_conversion_rate=game.points_conversion_rate,
        rounding=game.rounding,
        policy_version=game.policy_version,
    )
    slip = RatingSlip(
        id=uuid.uuid4(),
        casino_id=actor.casino_id,
        visit_id=visit.id,
        table_id=table.id,
        seat=seat,
        status=SlipStatus.OPEN,
        average_bet_cents=bet,
        policy_snapshot={"loyalty": snapshot.model_dump(mode="json"), "game": game.name},
        started_at=now,
        started_by=actor.staff_id,
    )
    uow.session.add(slip)
    uow.session.add(
        RatingSlipBet(
            id=uuid.uuid4(),
            casino_id=actor.casino_id,
            slip_id=slip.id,
            average_bet_cents=bet,
            changed_at=now,
            changed_by=actor.staff_id,
        )
    )
    uow.session.flush()
    _audit(
        uow,
        actor,
        "slip.started",
        slip,
        None,
        {"table": table.label, "seat": seat, "average_bet_cents": bet, "visit_id": str(visit.id)},
    )
    return slip


def _check_table_and_seat(
    uow: UnitOfWork, actor: Actor, table_id: uuid.UUID, seat: int
) -> tuple[GamingTable, GameSettings]:
    row = uow.session.execute(
        select(GamingTable, GameSettings)
        .join(GameSettings, GameSettings.id == GamingTable.game_settings_id)
        .where(GamingTable.id == table_id, GamingTable.casino_id == actor.casino_id)
    ).first()
    if row is None:
        raise DomainError(ErrorCode.TABLE_NOT_FOUND, "table: no such table at this casino.")
    table, game = row
    if table.status is not TableStatus.OPEN:
        raise DomainError(ErrorCode.TABLE_CLOSED, f"Table {table.label} is closed.")
    if not 1 <= seat <= table.seats:
        raise DomainError(
            ErrorCode.SEAT_INVALID, f"seat: table {table.label} has seats 1 to {table.seats}."
        )
    taken = uow.session.scalar(
        select(RatingSlip.id).where(
            RatingSlip.table_id == table.id,
            RatingSlip.seat == seat,
            RatingSlip.status.in_([SlipStatus.OPEN, SlipStatus.PAUSED]),
        )
    )
    if taken is not None:
        raise DomainError(ErrorCode.SEAT_TAKEN, f"seat: {table.label} seat {seat} is taken.")
    return table, game


def _check_bet(bet: int, game: GameSettings) -> None:
    """Within the table's limits: no single bet is below the minimum, so no average is."""
    if bet < 0:
        raise DomainError(ErrorCode.BET_INVALID, "average bet: cannot be negative.")
    if bet < game.min_bet_cents:
        raise DomainError(
            ErrorCode.BET_INVALID,
            f"average bet: below this table's minimum of ${game.min_bet_cents / 100:,.2f}.",
        )
    if bet > min(game.max_bet_cents, MAX_BET_CENTS):
        raise DomainError(
            ErrorCode.BET_INVALID,
            f"average bet: above this table's maximum of ${game.max_bet_cents / 100:,.2f}.",
        )


def _game_of(uow: UnitOfWork, table_id: uuid.UUID) -> GameSettings:
    return uow.session.scalars(
        select(GameSettings)
        .join(GamingTable, GamingTable.game_settings_id == GameSettings.id)
        .where(GamingTable.id == table_id)
    ).one()


def _snapshot(policy_snapshot: dict[str, Any]) -> PolicySnapshot:
    try:
        return PolicySnapshot.model_validate(policy_snapshot["loyalty"])
    except (KeyError, TypeError, ValidationError) as error:
        raise DomainError(
            ErrorCode.LOYALTY_SNAPSHOT_MISSING,
            "This slip has no usable policy snapshot; it cannot accrue.",
        ) from error


def _pauses(
    uow: UnitOfWork, actor: Actor, slip_id: uuid.UUID
) -> list[tuple[datetime, datetime | None]]:
    rows = uow.execute(_PAUSES, {"casino": actor.casino_id, "slip": slip_id}).all()
    return [(row.paused_at, row.resumed_at) for row in rows]


def _lock(uow: UnitOfWork, actor: Actor, slip_id: uuid.UUID) -> LockedSlip:
    """The slip locked (Postgres FOR UPDATE), with its visit and any base accrual it minted."""
    row = uow.execute(_LOCK_ONE, {"casino": actor.casino_id, "slip": slip_id}).first()
    if row is None:
        raise _no_slip()
    return LockedSlip.of(row)


def _no_slip() -> DomainError:
    return DomainError(ErrorCode.SLIP_NOT_FOUND, "No such rating slip at this casino.")


def _slip(uow: UnitOfWork, actor: Actor, slip_id: uuid.UUID, *, lock: bool = False) -> RatingSlip:
    return records.one_or_raise(
        uow,
        select(RatingSlip).where(RatingSlip.id == slip_id, RatingSlip.casino_id == actor.casino_id),
        DomainError(ErrorCode.SLIP_NOT_FOUND, "No such rating slip at this casino."),
        lock=lock,
    )


def _live_slip_for_update(uow: UnitOfWork, actor: Actor, slip_id: uuid.UUID) -> RatingSlip:
    slip = _slip(uow, actor, slip_id, lock=True)
    if slip.status is SlipStatus.CLOSED:
        raise _state(slip, "changed")
    return slip


def _visit_of(uow: UnitOfWork, slip: RatingSlip) -> Visit:
    return uow.session.scalars(select(Visit).where(Visit.id == slip.visit_id)).one()


def _state(slip: SlipSource, wanted: str) -> DomainError:
    return DomainError(
        ErrorCode.SLIP_STATE_INVALID,
        f"This slip is {slip.status.value} and cannot be {wanted}.",
        status=slip.status.value,
    )


def _audit(
    uow: UnitOfWork, actor: Actor, action: str, slip: SlipSource, before: Any, after: Any
) -> None:
    audit.by(uow, actor, action, "rating_slip", slip.id, before, after)
