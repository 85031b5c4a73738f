"""Loyalty (seed 003 paths 2–4, DESIGN §6): comps, credits, promotions, corrections, history.

Every change goes through ``ledger.post`` (append entry + move cached balance under a row
lock) inside ``run_idempotent`` (one outcome per request key). Base accrual lives with the
slips that earn it (pitterm.domain.slips).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Integer, and_, bindparam, literal_column, or_, select, tuple_

from pitterm.domain import audit, cursors, ledger
from pitterm.domain.actor import Actor
from pitterm.domain.auth import Credentials, authenticate
from pitterm.domain.capabilities import Capability, can, require
from pitterm.domain.casinos import current_gaming_day, load_settings
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import Direct, UnitOfWork, table_of
from pitterm.domain.enums import LedgerReason, SlipStatus
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome, run_idempotent, run_idempotent_from, with_outcome
from pitterm.domain.tables import (
    CasinoSettings,
    CompItem,
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
    RatingSlip,
    Staff,
    Visit,
)
from pitterm.domain.validation import Instant, parse

MAX_POINTS = 10_000_000
"""The largest single points movement accepted; anything larger is a typing error."""
PROMOTION_KEY_NAMESPACE = uuid.UUID("0b8c7a52-61a4-4c1e-8f0f-5d8b1f3f9e21")
HISTORY_PAGE = 50

_PLAYERS = table_of(Player)
_ACCOUNTS = table_of(PlayerLoyalty)
_SETTINGS = table_of(CasinoSettings)
_PLAYER = Direct(
    select(_PLAYERS.c.id).where(
        _PLAYERS.c.id == bindparam("player"), _PLAYERS.c.casino_id == bindparam("casino")
    )
)
_BALANCE = Direct(
    select(_PLAYERS.c.id, _ACCOUNTS.c.current_balance, _ACCOUNTS.c.tier)
    .select_from(
        _PLAYERS.outerjoin(
            _ACCOUNTS,
            (_ACCOUNTS.c.player_id == _PLAYERS.c.id)
            & (_ACCOUNTS.c.casino_id == _PLAYERS.c.casino_id),
        )
    )
    .where(_PLAYERS.c.id == bindparam("player"), _PLAYERS.c.casino_id == bindparam("casino"))
)
_REDEEM_ACCOUNT = with_outcome(
    ledger.LOCK.add_columns(_SETTINGS.c.overdraw_cap_points, _SETTINGS.c.four_eyes_overdraw)
    .join_from(
        _ACCOUNTS,
        _PLAYERS,
        (_PLAYERS.c.id == _ACCOUNTS.c.player_id) & (_PLAYERS.c.casino_id == _ACCOUNTS.c.casino_id),
    )
    .join_from(_ACCOUNTS, _SETTINGS, _SETTINGS.c.casino_id == _ACCOUNTS.c.casino_id)
    .with_for_update(of=_ACCOUNTS),
    _ACCOUNTS,
)
"""A comp's account row locked, with the settings it is checked against and the stored
outcome of the comp's request key (one round trip)."""


class Redeem(BaseModel):
    """Issue a comp: debit its cost. Approver credentials only when overdraw needs them."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    player_id: uuid.UUID
    points: int | None = None
    """The cost; taken from the catalog item when omitted."""
    comp_id: uuid.UUID | None = None
    note: str = Field(default="", max_length=2000)
    reference: str | None = Field(default=None, max_length=64)
    visit_id: uuid.UUID | None = None
    allow_overdraw: bool = False
    approver: Credentials | None = None
    idempotency_key: uuid.UUID | None = None


class Redeemed(Outcome):
    ledger_id: uuid.UUID
    points_delta: int
    balance_before: int
    balance_after: int
    overdraw_applied: bool
    approved_by_staff_id: uuid.UUID | None = None
    comp_name: str | None = None


class ManualCredit(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    player_id: uuid.UUID
    points: int
    note: str = Field(default="", max_length=2000)
    suggested_points: int | None = Field(default=None, ge=0, le=MAX_POINTS)
    visit_id: uuid.UUID | None = None
    idempotency_key: uuid.UUID | None = None


class Credited(Outcome):
    ledger_id: uuid.UUID
    points_delta: int
    balance_after: int


class ApplyPromotion(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    slip_id: uuid.UUID
    campaign_id: str = Field(min_length=1, max_length=64)
    multiplier: Decimal | None = Field(default=None, allow_inf_nan=False)
    """The total factor on the slip's base points: 2 doubles them, so the entry adds 1 ×."""
    bonus_points: int | None = None
    idempotency_key: uuid.UUID | None = None


class PromotionApplied(Outcome):
    ledger_id: uuid.UUID
    promo_points_delta: int
    balance_after: int


class Adjust(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    player_id: uuid.UUID
    points: int
    note: str = Field(default="", max_length=2000)
    idempotency_key: uuid.UUID | None = None


class Reverse(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    entry_id: uuid.UUID
    note: str = Field(default="", max_length=2000)
    idempotency_key: uuid.UUID | None = None


class Corrected(Outcome):
    ledger_id: uuid.UUID
    points_delta: int
    balance_before: int
    balance_after: int
    reverses_entry_id: uuid.UUID | None = None


class CompView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    category: str
    points_cost: int
    active: bool


class NewComp(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    category: str = Field(min_length=1, max_length=40)
    points_cost: int = Field(gt=0, le=MAX_POINTS)


class LedgerFilter(BaseModel):
    model_config = ConfigDict(frozen=True)

    player_id: uuid.UUID | None = None
    reason: LedgerReason | None = None
    staff_id: uuid.UUID | None = None
    slip_id: uuid.UUID | None = None
    since: Instant | None = None
    until: Instant | None = None
    """Exclusive upper bound."""


class LedgerRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    created_at: datetime
    player_id: uuid.UUID
    player_name: str
    reason: LedgerReason
    points_delta: int
    staff_code: str | None
    staff_name: str | None
    note: str | None
    rating_slip_id: uuid.UUID | None
    reverses_entry_id: uuid.UUID | None
    metadata: dict[str, Any]


class LedgerPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: list[LedgerRow]
    next_cursor: str | None
    """Pass back to get the next (older) page; None on the last page."""


class Balance(BaseModel):
    model_config = ConfigDict(frozen=True)

    player_id: uuid.UUID
    balance: int
    tier: str | None


class OverdrawPolicy(BaseModel):
    """What the comp screen needs to know before it asks for an approval."""

    model_config = ConfigDict(frozen=True)

    cap_points: int
    """The balance after a comp may not fall below minus this."""
    four_eyes: bool
    """A second person must approve even when the actor could."""
    actor_may_approve: bool
    """The actor's own role can approve (and four-eyes is off): no second sign-in needed."""


class PlayerCard(BaseModel):
    """What the Player mode shows for one patron."""

    model_config = ConfigDict(frozen=True)

    player_id: uuid.UUID
    name: str
    loyalty_card_number: str | None
    tier: str | None
    balance: int
    open_visit_id: uuid.UUID | None
    open_visit_kind: str | None
    today_theo: Decimal
    recent: list[LedgerRow]


# -- reads -----------------------------------------------------------------------------


def balance(uow: UnitOfWork, actor: Actor, player_id: uuid.UUID) -> Balance:
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        row = uow.execute(_BALANCE, {"player": player_id, "casino": actor.casino_id}).first()
    if row is None:
        raise _no_player()
    tier = row.tier
    return Balance(
        player_id=player_id, balance=row.current_balance or 0, tier=tier.value if tier else None
    )


def player_card(uow: UnitOfWork, actor: Actor, player_id: uuid.UUID) -> PlayerCard:
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        player = uow.session.scalar(
            select(Player).where(Player.id == player_id, Player.casino_id == actor.casino_id)
        )
        if player is None:
            raise _no_player()
        account = uow.session.get(PlayerLoyalty, (player.id, actor.casino_id))
        visit = uow.session.scalar(
            select(Visit).where(Visit.player_id == player.id, Visit.status == "open")
        )
        day = current_gaming_day(uow, actor.casino_id)
        theo = uow.session.scalars(
            select(RatingSlip.theo)
            .join(Visit, Visit.id == RatingSlip.visit_id)
            .where(
                Visit.player_id == player.id,
                Visit.gaming_day == day,
                RatingSlip.status == SlipStatus.CLOSED,
            )
        ).all()
        recent = _history_rows(uow, actor, LedgerFilter(player_id=player.id), None, 10)
        return PlayerCard(
            player_id=player.id,
            name=f"{player.first_name} {player.last_name}",
            loyalty_card_number=player.loyalty_card_number,
            tier=account.tier.value if account and account.tier else None,
            balance=account.current_balance if account else 0,
            open_visit_id=visit.id if visit else None,
            open_visit_kind=visit.visit_kind.value if visit else None,
            today_theo=sum((t for t in theo if t is not None), start=Decimal(0)),
            recent=recent,
        )


def overdraw_policy(uow: UnitOfWork, actor: Actor) -> OverdrawPolicy:
    require(actor, Capability.ISSUE_COMP)
    with uow:
        settings = load_settings(uow, actor.casino_id)
        return OverdrawPolicy(
            cap_points=settings.overdraw_cap_points,
            four_eyes=settings.four_eyes_overdraw,
            actor_may_approve=can(actor.role, Capability.APPROVE_OVERDRAW)
            and not settings.four_eyes_overdraw,
        )


def comp_catalog(
    uow: UnitOfWork, actor: Actor, *, include_inactive: bool = False
) -> list[CompView]:
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        query = select(CompItem).where(CompItem.casino_id == actor.casino_id)
        if not include_inactive:
            query = query.where(CompItem.active.is_(True))
        return [
            _comp_view(c)
            for c in uow.session.scalars(query.order_by(CompItem.category, CompItem.name))
        ]


def history(
    uow: UnitOfWork,
    actor: Actor,
    where: LedgerFilter | None = None,
    cursor: str | None = None,
    limit: int = HISTORY_PAGE,
) -> LedgerPage:
    """Newest first, a page at a time by keyset: the last page costs what the first does."""
    require(actor, Capability.VIEW_FLOOR)
    where = parse(LedgerFilter, where or LedgerFilter())
    limit = max(1, min(limit, 500))
    with uow:
        rows = _history_rows(
            uow,
            actor,
            where,
            cursors.decode(cursor, ErrorCode.LEDGER_CURSOR_INVALID) if cursor else None,
            limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return LedgerPage(
        rows=rows,
        next_cursor=cursors.encode(rows[-1].created_at, rows[-1].id) if more and rows else None,
    )


def export_history_csv(uow: UnitOfWork, actor: Actor, where: LedgerFilter, out: TextIO) -> int:
    """Write the filtered ledger as CSV (formula-injection safe), page by page. Returns rows."""
    require(actor, Capability.VIEW_FLOOR)
    where = parse(LedgerFilter, where)
    header = [
        "created_at",
        "entry_id",
        "player",
        "reason",
        "points_delta",
        "staff",
        "note",
        "rating_slip_id",
        "reverses_entry_id",
    ]
    out.write(write_rows(header, []))
    count = 0
    for page in _pages(uow, actor, where):
        out.write(
            write_rows(
                None,
                (
                    [
                        r.created_at.isoformat(),
                        r.id,
                        r.player_name,
                        r.reason.value,
                        r.points_delta,
                        r.staff_code,
                        r.note,
                        r.rating_slip_id,
                        r.reverses_entry_id,
                    ]
                    for r in page
                ),
            )
        )
        count += len(page)
    return count


# -- mutations -------------------------------------------------------------------------


def redeem(uow: UnitOfWork, actor: Actor, command: Redeem) -> Redeemed:
    """Comp issuance: a negative entry. Overdraw only when allowed, approved and within cap."""
    require(actor, Capability.ISSUE_COMP)
    command = parse(Redeem, command)
    key = _key(command.idempotency_key)
    note = _note(command.note)

    def body(first: Any | None) -> Redeemed:
        account, cap, four_eyes = _redeem_account(uow, actor, command.player_id, first)
        _visit_of(uow, actor, command.visit_id, command.player_id)
        comp = _comp(uow, actor, command.comp_id) if command.comp_id else None
        cost = (
            command.points if command.points is not None else (comp.points_cost if comp else None)
        )
        if cost is None or not 0 < cost <= MAX_POINTS:
            raise DomainError(
                ErrorCode.LOYALTY_POINTS_INVALID,
                f"points: a comp costs a whole number of points from 1 to {MAX_POINTS:,}.",
            )
        after = account.current_balance - cost
        overdraw: dict[str, Any] | None = None
        approver_id: uuid.UUID | None = None
        if after < 0:
            if not command.allow_overdraw:
                raise DomainError(
                    ErrorCode.LOYALTY_INSUFFICIENT_BALANCE,
                    f"Balance {account.current_balance:,} is short of the {cost:,}-point cost;"
                    " overdraw was not approved.",
                    balance=account.current_balance,
                    cost=cost,
                )
            if after < -cap:
                raise DomainError(
                    ErrorCode.LOYALTY_OVERDRAW_EXCEEDS_CAP,
                    f"This comp would take the balance to {after:,}, past the overdraw cap of"
                    f" {-cap:,}.",
                    balance_after=after,
                    cap=cap,
                )
            approver = _overdraw_approver(uow, actor, command.approver, four_eyes=four_eyes)
            approver_id = approver.staff_id
            overdraw = {
                "allowed": True,
                "approved_by_staff_id": str(approver.staff_id),
                "approved_by_code": approver.staff_code,
                "self_approved": approver.staff_id == actor.staff_id,
                "note": note,
                "cap": cap,
            }
        posted = ledger.post(
            uow,
            casino_id=actor.casino_id,
            player_id=command.player_id,
            points_delta=-cost,
            reason=LedgerReason.REDEEM,
            staff_id=actor.staff_id,
            idempotency_key=key,
            note=note,
            source_kind="comp" if comp else "manual",
            source_id=comp.id if comp else None,
            visit_id=command.visit_id,
            account=account,
            with_commit=True,  # the body reads neither again; sent with the audit and outcome
            metadata={
                "redemption": {
                    "reward_id": str(comp.id) if comp else None,
                    "comp_type": comp.name if comp else None,
                    "category": comp.category if comp else None,
                    "reference": command.reference,
                },
                "balance_before": account.current_balance,
                "balance_after": after,
                "overdraw": overdraw,
            },
        )
        _audit(
            uow,
            actor,
            "loyalty.redeem",
            posted,
            {"approved_by": str(approver_id)} if approver_id else None,
        )
        return Redeemed(
            ledger_id=posted.entry_id,
            points_delta=posted.points_delta,
            balance_before=posted.balance_before,
            balance_after=posted.balance_after,
            overdraw_applied=overdraw is not None,
            approved_by_staff_id=approver_id,
            comp_name=comp.name if comp else None,
        )

    # The approver's PIN never goes into the stored request fingerprint.
    fingerprint = command.model_copy(update={"approver": None})
    return run_idempotent_from(
        uow,
        actor,
        operation="loyalty.redeem",
        key=key,
        request=fingerprint,
        result_type=Redeemed,
        first=_REDEEM_ACCOUNT,
        parameters={"account_player": command.player_id, "account_casino": actor.casino_id},
        body=body,
    )


def manual_credit(uow: UnitOfWork, actor: Actor, command: ManualCredit) -> Credited:
    require(actor, Capability.MANUAL_CREDIT)
    command = parse(ManualCredit, command)
    key = _key(command.idempotency_key)
    note = _note(command.note)
    _positive(command.points)

    def body() -> Credited:
        _player(uow, actor, command.player_id)
        _visit_of(uow, actor, command.visit_id, command.player_id)
        posted = ledger.post(
            uow,
            casino_id=actor.casino_id,
            player_id=command.player_id,
            points_delta=command.points,
            reason=LedgerReason.MANUAL_REWARD,
            staff_id=actor.staff_id,
            idempotency_key=key,
            note=note,
            source_kind="manual",
            visit_id=command.visit_id,
            metadata={
                "awarded_by_staff_id": str(actor.staff_id),
                "note": note,
                "suggested_points": command.suggested_points,
            },
        )
        _audit(uow, actor, "loyalty.manual_credit", posted)
        return Credited(
            ledger_id=posted.entry_id,
            points_delta=posted.points_delta,
            balance_after=posted.balance_after,
        )

    return run_idempotent(
        uow,
        actor,
        operation="loyalty.manual_credit",
        key=key,
        request=command,
        result_type=Credited,
        body=body,
    )


def apply_promotion(uow: UnitOfWork, actor: Actor, command: ApplyPromotion) -> PromotionApplied:
    """A campaign's overlay on a closed, rated slip: once per (campaign, slip)."""
    require(actor, Capability.APPLY_PROMOTION)
    command = parse(ApplyPromotion, command)
    key = _key(command.idempotency_key)
    if (command.multiplier is None) == (command.bonus_points is None):
        raise DomainError(
            ErrorCode.LOYALTY_POINTS_INVALID,
            "Give exactly one of a multiplier or bonus points for a promotion.",
        )
    if command.multiplier is not None and not Decimal(1) < command.multiplier <= Decimal(10):
        raise DomainError(
            ErrorCode.LOYALTY_POINTS_INVALID,
            "multiplier: must be above 1 and at most 10 (2 doubles the points).",
        )
    if command.bonus_points is not None:
        _positive(command.bonus_points)
    entry_key = uuid.uuid5(PROMOTION_KEY_NAMESPACE, f"{command.campaign_id}:{command.slip_id}")

    def body() -> PromotionApplied:
        slip = uow.session.scalar(
            select(RatingSlip).where(
                RatingSlip.id == command.slip_id, RatingSlip.casino_id == actor.casino_id
            )
        )
        if slip is None:
            raise DomainError(ErrorCode.LOYALTY_SLIP_NOT_FOUND, "No such rating slip here.")
        if slip.status is not SlipStatus.CLOSED:
            raise DomainError(
                ErrorCode.LOYALTY_SLIP_NOT_CLOSED, "Promotions apply to closed slips only."
            )
        base = uow.session.scalar(
            select(LoyaltyLedger).where(
                LoyaltyLedger.casino_id == actor.casino_id,
                LoyaltyLedger.rating_slip_id == slip.id,
                LoyaltyLedger.reason == LedgerReason.BASE_ACCRUAL,
            )
        )
        if base is None:
            raise DomainError(
                ErrorCode.PROMOTION_SLIP_UNRATED,
                "This slip earned no base points (unrated play); no promotion.",
            )
        existing = uow.session.scalar(
            select(LoyaltyLedger).where(
                LoyaltyLedger.casino_id == actor.casino_id,
                LoyaltyLedger.idempotency_key == entry_key,
            )
        )
        if existing is not None:
            account = ledger.lock(uow, actor.casino_id, existing.player_id)
            return PromotionApplied(
                ledger_id=existing.id,
                promo_points_delta=existing.points_delta,
                balance_after=account.current_balance,
                is_existing=True,
            )
        if command.bonus_points is not None:
            points = command.bonus_points
        else:
            assert command.multiplier is not None
            points = int(
                (base.points_delta * (command.multiplier - 1)).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP
                )
            )
        if points <= 0:
            raise DomainError(
                ErrorCode.LOYALTY_POINTS_INVALID,
                "This promotion would add no points to the slip's base points.",
            )
        posted = ledger.post(
            uow,
            casino_id=actor.casino_id,
            player_id=base.player_id,
            points_delta=points,
            reason=LedgerReason.PROMOTION,
            staff_id=actor.staff_id,
            idempotency_key=entry_key,
            source_kind="campaign",
            source_id=slip.id,
            rating_slip_id=slip.id,
            visit_id=slip.visit_id,
            metadata={
                "campaign_id": command.campaign_id,
                "base_entry_id": str(base.id),
                "base_points": base.points_delta,
                "multiplier": str(command.multiplier) if command.multiplier else None,
                "bonus_points": command.bonus_points,
                "promo_points": points,
            },
        )
        _audit(uow, actor, "loyalty.promotion", posted)
        return PromotionApplied(
            ledger_id=posted.entry_id, promo_points_delta=points, balance_after=posted.balance_after
        )

    return run_idempotent(
        uow,
        actor,
        operation="loyalty.promotion",
        key=key,
        request=command,
        result_type=PromotionApplied,
        body=body,
    )


def adjust(uow: UnitOfWork, actor: Actor, command: Adjust) -> Corrected:
    """An admin correction, up or down, with a reason."""
    require(actor, Capability.ADJUST_REVERSE)
    command = parse(Adjust, command)
    key = _key(command.idempotency_key)
    note = _note(command.note)
    if command.points == 0 or abs(command.points) > MAX_POINTS:
        raise DomainError(
            ErrorCode.LOYALTY_POINTS_INVALID,
            f"points: a non-zero whole number within ±{MAX_POINTS:,}.",
        )

    def body() -> Corrected:
        _player(uow, actor, command.player_id)
        posted = ledger.post(
            uow,
            casino_id=actor.casino_id,
            player_id=command.player_id,
            points_delta=command.points,
            reason=LedgerReason.ADJUSTMENT,
            staff_id=actor.staff_id,
            idempotency_key=key,
            note=note,
            source_kind="manual",
            metadata={"adjusted_by_staff_id": str(actor.staff_id), "note": note},
        )
        _audit(uow, actor, "loyalty.adjustment", posted)
        return Corrected(
            ledger_id=posted.entry_id,
            points_delta=posted.points_delta,
            balance_before=posted.balance_before,
            balance_after=posted.balance_after,
        )

    return run_idempotent(
        uow,
        actor,
        operation="loyalty.adjust",
        key=key,
        request=command,
        result_type=Corrected,
        body=body,
    )


def reverse(uow: UnitOfWork, actor: Actor, command: Reverse) -> Corrected:
    """The exact negation of one entry, once. Reversals themselves are not reversible."""
    require(actor, Capability.ADJUST_REVERSE)
    command = parse(Reverse, command)
    key = _key(command.idempotency_key)
    note = _note(command.note)

    def body() -> Corrected:
        original = uow.session.scalar(
            select(LoyaltyLedger).where(
                LoyaltyLedger.id == command.entry_id, LoyaltyLedger.casino_id == actor.casino_id
            )
        )
        if original is None:
            raise DomainError(ErrorCode.LEDGER_ENTRY_NOT_FOUND, "No such ledger entry here.")
        if original.reason is LedgerReason.REVERSAL or original.points_delta == 0:
            raise DomainError(
                ErrorCode.LEDGER_ENTRY_NOT_REVERSIBLE,
                "That entry cannot be reversed (a reversal, or zero points).",
            )
        account = ledger.lock(uow, actor.casino_id, original.player_id)
        already = uow.session.scalar(
            select(LoyaltyLedger.id).where(LoyaltyLedger.reverses_entry_id == original.id)
        )
        if already is not None:
            raise DomainError(
                ErrorCode.LEDGER_ALREADY_REVERSED,
                "That entry has already been reversed.",
                reversal_id=str(already),
            )
        posted = ledger.post(
            uow,
            casino_id=actor.casino_id,
            player_id=original.player_id,
            points_delta=-original.points_delta,
            reason=LedgerReason.REVERSAL,
            staff_id=actor.staff_id,
            idempotency_key=key,
            note=note,
            source_kind="ledger",
            source_id=original.id,
            reverses_entry_id=original.id,
            rating_slip_id=original.rating_slip_id,
            account=account,
            metadata={
                "reverses": {
                    "entry_id": str(original.id),
                    "reason": original.reason.value,
                    "points_delta": original.points_delta,
                },
                "note": note,
            },
        )
        _audit(uow, actor, "loyalty.reversal", posted, {"reverses": str(original.id)})
        return Corrected(
            ledger_id=posted.entry_id,
            points_delta=posted.points_delta,
            balance_before=posted.balance_before,
            balance_after=posted.balance_after,
            reverses_entry_id=original.id,
        )

    return run_idempotent(
        uow,
        actor,
        operation="loyalty.reverse",
        key=key,
        request=command,
        result_type=Corrected,
        body=body,
    )


def add_comp(uow: UnitOfWork, actor: Actor, new: NewComp) -> CompView:
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    new = parse(NewComp, new)
    with uow:
        if uow.session.scalar(
            select(CompItem.id).where(
                CompItem.casino_id == actor.casino_id, CompItem.name == new.name
            )
        ):
            raise DomainError(ErrorCode.VALIDATION_FAILED, f"name: {new.name} is on the catalog")
        comp = CompItem(
            id=uuid.uuid4(),
            casino_id=actor.casino_id,
            active=True,
            created_at=uow.now(),
            **new.model_dump(),
        )
        uow.session.add(comp)
        audit.record(
            uow,
            casino_id=actor.casino_id,
            staff_id=actor.staff_id,
            action="comp.created",
            entity_type="comp_item",
            entity_id=comp.id,
            after=new.model_dump(),
        )
        uow.commit()
        return _comp_view(comp)


def set_comp_active(uow: UnitOfWork, actor: Actor, comp_id: uuid.UUID, active: bool) -> CompView:
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    with uow:
        comp = _comp(uow, actor, comp_id, active_only=False)
        if comp.active != active:
            audit.record(
                uow,
                casino_id=actor.casino_id,
                staff_id=actor.staff_id,
                action="comp.activated" if active else "comp.deactivated",
                entity_type="comp_item",
                entity_id=comp.id,
                before={"active": comp.active},
                after={"active": active},
            )
            comp.active = active
        view = _comp_view(comp)
        uow.commit()
        return view


# -- helpers ---------------------------------------------------------------------------


def _overdraw_approver(
    uow: UnitOfWork, actor: Actor, credentials: Credentials | None, *, four_eyes: bool
) -> Actor:
    if credentials is None:
        if can(actor.role, Capability.APPROVE_OVERDRAW) and not four_eyes:
            return actor
        raise DomainError(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            "Overdraw needs approval: a second staff member (pit boss or admin) must enter"
            " their code and PIN.",
            needs_approver=True,
        )
    approver = authenticate(uow, credentials, action="loyalty.overdraw_approval")
    if not can(approver.role, Capability.APPROVE_OVERDRAW):
        raise DomainError(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            f"{approver.staff_code} is a {approver.role.label.lower()}; only a pit boss or an"
            " admin may approve overdraw.",
            needs_approver=True,
        )
    if four_eyes and approver.staff_id == actor.staff_id:
        raise DomainError(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            "This casino requires a second person to approve overdraw: the approver cannot be"
            " the staff member issuing the comp.",
            needs_approver=True,
        )
    return approver


def _key(key: uuid.UUID | None) -> uuid.UUID:
    if key is None:
        raise DomainError(
            ErrorCode.LOYALTY_IDEMPOTENCY_REQUIRED,
            "An idempotency key is required for every loyalty change.",
        )
    return key


def _note(note: str) -> str:
    note = " ".join(note.split())
    if not note:
        raise DomainError(ErrorCode.LOYALTY_NOTE_REQUIRED, "note: say why (it is required).")
    return note


def _positive(points: int) -> None:
    if not 0 < points <= MAX_POINTS:
        raise DomainError(
            ErrorCode.LOYALTY_POINTS_INVALID, f"points: a whole number from 1 to {MAX_POINTS:,}."
        )


def _player(uow: UnitOfWork, actor: Actor, player_id: uuid.UUID) -> None:
    """The player must be one of this casino's."""
    if uow.execute(_PLAYER, {"player": player_id, "casino": actor.casino_id}).first() is None:
        raise _no_player()


def _redeem_account(
    uow: UnitOfWork, actor: Actor, player_id: uuid.UUID, row: Any | None
) -> tuple[ledger.Account, int, bool]:
    """The player's account, locked, with the casino's overdraw cap and four-eyes setting.

    ``row`` is what ``_REDEEM_ACCOUNT`` read (locking the account) when the player has an
    account (always, once enrolled); without one the player is checked and the account
    created the long way.
    """
    if row is not None:
        account = ledger.Account(player_id, actor.casino_id, row.current_balance, row.tier)
        return account, row.overdraw_cap_points, row.four_eyes_overdraw
    _player(uow, actor, player_id)
    settings = load_settings(uow, actor.casino_id)
    account = ledger.lock(uow, actor.casino_id, player_id)
    return account, settings.overdraw_cap_points, settings.four_eyes_overdraw


def _visit_of(
    uow: UnitOfWork, actor: Actor, visit_id: uuid.UUID | None, player_id: uuid.UUID
) -> None:
    """A visit named on a comp or credit is one of this casino's, and this player's (their
    own, or a ghost visit associated with them)."""
    if visit_id is None:
        return
    visit = uow.session.scalar(
        select(Visit).where(Visit.id == visit_id, Visit.casino_id == actor.casino_id)
    )
    if visit is None:
        raise DomainError(ErrorCode.VISIT_NOT_FOUND, "visit_id: no such visit at this casino.")
    if player_id not in (visit.player_id, visit.associated_player_id):
        raise DomainError(ErrorCode.VALIDATION_FAILED, "visit_id: that visit is not this player's.")


def _no_player() -> DomainError:
    return DomainError(ErrorCode.LOYALTY_PLAYER_NOT_FOUND, "No such player at this casino.")


def _comp(
    uow: UnitOfWork, actor: Actor, comp_id: uuid.UUID, *, active_only: bool = True
) -> CompItem:
    comp = uow.session.scalar(
        select(CompItem).where(CompItem.id == comp_id, CompItem.casino_id == actor.casino_id)
    )
    if comp is None or (active_only and not comp.active):
        raise DomainError(ErrorCode.COMP_NOT_FOUND, "That comp is not on this casino's catalog.")
    return comp


def _comp_view(comp: CompItem) -> CompView:
    return CompView(
        id=comp.id,
        name=comp.name,
        category=comp.category,
        points_cost=comp.points_cost,
        active=comp.active,
    )


def _audit(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    posted: ledger.Posted,
    extra: dict[str, Any] | None = None,
) -> None:
    audit.record(
        uow,
        casino_id=actor.casino_id,
        staff_id=actor.staff_id,
        action=action,
        entity_type="loyalty_ledger",
        entity_id=posted.entry_id,
        before={"balance": posted.balance_before},
        after={
            "balance": posted.balance_after,
            "points_delta": posted.points_delta,
            **(extra or {}),
        },
    )


_ENTRIES = table_of(LoyaltyLedger)
_STAFF = table_of(Staff)


def _history_rows(
    uow: UnitOfWork,
    actor: Actor,
    where: LedgerFilter,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[LedgerRow]:
    """One page, newest first, by keyset on (created_at, id): the index on (casino_id,
    created_at, id) walks straight to it, however deep. Core: a page is 50 rows of reading.
    """
    e = _ENTRIES.c
    conditions: list[ColumnElement[bool]] = [e.casino_id == actor.casino_id]
    if where.player_id is not None:
        conditions.append(e.player_id == where.player_id)
    if where.reason is not None:
        conditions.append(e.reason == where.reason)
    if where.staff_id is not None:
        conditions.append(e.staff_id == where.staff_id)
    if where.slip_id is not None:
        conditions.append(e.rating_slip_id == where.slip_id)
    if where.since is not None:
        conditions.append(e.created_at >= where.since)
    if where.until is not None:
        conditions.append(e.created_at < where.until)
    if after is not None:
        conditions.append(tuple_(e.created_at, e.id) < tuple_(*after))
    rows = uow.execute(
        select(
            e.id,
            e.created_at,
            e.player_id,
            e.reason,
            e.points_delta,
            e.note,
            e.rating_slip_id,
            e.reverses_entry_id,
            e.metadata,
            _PLAYERS.c.first_name,
            _PLAYERS.c.last_name,
            _STAFF.c.code,
            _STAFF.c.name,
        )
        .select_from(
            _ENTRIES.join(
                _PLAYERS,
                (_PLAYERS.c.id == e.player_id) & (_PLAYERS.c.casino_id == e.casino_id),
            ).outerjoin(_STAFF, (_STAFF.c.id == e.staff_id) & (_STAFF.c.casino_id == e.casino_id))
        )
        .where(and_(*conditions))
        .order_by(e.created_at.desc(), e.id.desc())
        # A literal, not a parameter: a prepared statement's generic plan cannot know a
        # parameter's LIMIT is small and may choose to sort the whole casino's ledger.
        .limit(literal_column(str(int(limit)), Integer))
    ).all()
    # Typed by the columns they come from: no second validation of every row.
    return [
        LedgerRow.model_construct(
            id=row.id,
            created_at=row.created_at,
            player_id=row.player_id,
            player_name=f"{row.first_name} {row.last_name}",
            reason=row.reason,
            points_delta=row.points_delta,
            staff_code=row.code,
            staff_name=row.name,
            note=row.note,
            rating_slip_id=row.rating_slip_id,
            reverses_entry_id=row.reverses_entry_id,
            metadata=row.metadata,
        )
        for row in rows
    ]


def _pages(uow: UnitOfWork, actor: Actor, where: LedgerFilter) -> Iterator[list[LedgerRow]]:
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        with uow:
            rows = _history_rows(uow, actor, where, after, 500)
        if not rows:
            return
        yield rows
        after = (rows[-1].created_at, rows[-1].id)


__all__ = [
    "Adjust",
    "ApplyPromotion",
    "Balance",
    "CompView",
    "Corrected",
    "Credited",
    "LedgerFilter",
    "LedgerPage",
    "LedgerRow",
    "ManualCredit",
    "NewComp",
    "PlayerCard",
    "PromotionApplied",
    "Redeem",
    "Redeemed",
    "Reverse",
    "add_comp",
    "adjust",
    "apply_promotion",
    "balance",
    "comp_catalog",
    "export_history_csv",
    "history",
    "manual_credit",
    "or_",
    "player_card",
    "redeem",
    "reverse",
    "set_comp_active",
]
