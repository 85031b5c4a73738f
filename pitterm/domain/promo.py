"""Promotional instruments (seed 004, DESIGN §7): programs, coupons, inventory, exposure, alerts.

Programs move draft → active ⇄ paused → ended (a draft may also be ended; ended is final).
Coupons come only from an active program inside its window, and move issued → voided,
replaced or expired, never back. Every mutation is role-checked, idempotent by request key,
audited, and runs in one transaction; every read returns pydantic models for the screens.

Decisions this module makes (see also pitterm.domain.promo_rules):

* **Expiry on read.** Reads compute a coupon's status: an ``issued`` coupon whose
  ``expires_at`` has passed reads as ``expired`` in every view, filter, rollup and alert,
  whether or not ``expire_due`` has run. Readers never write (a reader's transaction stays
  read-only); ``expire_due`` persists the transition, with an audit row per coupon, and is
  naturally idempotent (it takes no request key: a second run finds nothing due).
* **Exposure** is computed in SQL from the coupons' timestamps, so it is right at any
  point in time: window figures count what was issued, voided, replaced and expired inside
  the gaming day or shift (up to ``as_of``); outstanding figures are point-in-time at
  ``as_of`` over every coupon ever issued. Replacement coupons are issued coupons (they are
  in patrons' hands); the coupon they replace counts as replaced.
* **Replacement** is not new issuance: it needs the old coupon outstanding, not an active
  program, and the new coupon keeps the old one's program, face value, match wager, player,
  visit and (unless another is given) expiry. It needs a reason, like a void.
* **Anonymous** means no player: a coupon tied to a ghost visit is anonymous too. A coupon
  tied to a visit takes the visit's player; the visit must be open.
* **Max uses** counts the program's coupons that are or were in patrons' hands (issued or
  expired): a voided coupon never reached one, and a replacement carries its predecessor's
  use. Issuance locks the program row, so the limit holds under concurrent terminals.
* **Validation numbers** are unique across all casinos (a unique constraint); a generated
  number that collides is drawn again inside a savepoint, a typed pre-printed number that is
  taken (here or, without saying where, at another casino) is refused. A typed number must be
  well-formed, pass its check character, and carry the program type's prefix.
* **Reads** (programs, inventory, exposure, alerts) are for staff who may issue coupons or
  manage promotions; ``expire_due`` may be run by any of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, TextIO, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    and_,
    case,
    exc,
    exists,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import aliased

from pitterm.domain import audit, cursors, promo_numbers, records
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can, require
from pitterm.domain.casinos import load_settings
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import VisitStatus
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.gaming_day import gaming_day as gaming_day_of
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.promo_numbers import InvalidNumber, NumberCheckError, ValidationNumber
from pitterm.domain.promo_rules import (
    EDITABLE_FIELDS,
    SPIKE_HISTORY_DAYS,
    CouponAction,
    CouponStatus,
    ExpiryCheck,
    ProgramAction,
    ProgramStatus,
    PromoAlert,
    PromoType,
    RateCheck,
    Shift,
    SpikeCheck,
    assess_expiry,
    assess_rate,
    assess_spike,
    at_risk_cents,
    check_amounts,
    check_issuable,
    check_window,
    coupon_transition,
    effective_status,
    gaming_day_window,
    program_transition,
    raised_alerts,
    shift_at,
    shift_window,
)
from pitterm.domain.tables import (
    CasinoSettings,
    Player,
    PromoCoupon,
    PromoProgram,
    Staff,
    Visit,
)
from pitterm.domain.validation import Instant, parse

INVENTORY_PAGE = 50
NUMBER_ATTEMPTS = 8
"""Fresh numbers drawn before giving up; one collision in 2⁴⁰ is already a rarity."""
MAX_USES = 1_000_000
RESERVED_METADATA = frozenset({"number_source", "replaces"})
"""Metadata keys pitterm writes itself; callers may not supply them."""
USES = (CouponStatus.ISSUED, CouponStatus.EXPIRED)

MetadataKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
MetadataValue = Annotated[str, StringConstraints(max_length=200)]


# -- inputs ------------------------------------------------------------------------------


class NewProgram(BaseModel):
    """A program to create (as a draft). Amounts in cents; times aware."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    promo_type: PromoType
    start_at: Instant
    end_at: Instant
    terms: str = Field(default="", max_length=10_000)
    min_wager_cents: int | None = Field(default=None, gt=0, le=10_000_000)
    max_uses: int | None = Field(default=None, gt=0, le=MAX_USES)
    idempotency_key: uuid.UUID


class EditProgram(NewProgram):
    """The program's fields as they should be (the whole form, pre-filled from ProgramView).

    Only what differs is changed; what a program's state does not allow to change is refused.
    """

    program_id: uuid.UUID


class ProgramCommand(BaseModel):
    """Activate, pause or end a program."""

    model_config = ConfigDict(frozen=True)

    program_id: uuid.UUID
    idempotency_key: uuid.UUID


class IssueCoupon(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    program_id: uuid.UUID
    face_value_cents: int
    required_match_wager_cents: int = 0
    """Match play only: the patron's own wager that must accompany the coupon."""
    player_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    expires_at: Instant | None = None
    """Defaults to the end of the program's window."""
    validation_number: str | None = Field(default=None, max_length=40)
    """A number typed from pre-printed coupon stock; None lets pitterm generate one."""
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=20)
    """Free facts to keep with the coupon (print batch, channel...)."""
    idempotency_key: uuid.UUID

    @field_validator("metadata")
    @classmethod
    def _no_reserved_keys(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(RESERVED_METADATA & value.keys())
        if reserved:
            raise ValueError(f"{', '.join(reserved)} are recorded by pitterm itself")
        return value


class VoidCoupon(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    coupon_id: uuid.UUID
    reason: str = Field(default="", max_length=500)
    idempotency_key: uuid.UUID


class ReplaceCoupon(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    coupon_id: uuid.UUID
    reason: str = Field(default="", max_length=500)
    validation_number: str | None = Field(default=None, max_length=40)
    """The replacement's pre-printed number, if typed; None lets pitterm generate one."""
    expires_at: Instant | None = None
    """Defaults to the replaced coupon's expiry."""
    idempotency_key: uuid.UUID


class CouponFilter(BaseModel):
    """Inventory filters; all optional. ``status`` is the status a reader sees (on-read expiry)."""

    model_config = ConfigDict(frozen=True)

    program_id: uuid.UUID | None = None
    status: CouponStatus | None = None
    promo_type: PromoType | None = None
    player_id: uuid.UUID | None = None
    issued_since: Instant | None = None
    issued_until: Instant | None = None
    """Exclusive upper bound."""


# -- results -----------------------------------------------------------------------------


class ProgramView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    promo_type: PromoType
    status: ProgramStatus
    start_at: datetime
    end_at: datetime
    terms: str
    min_wager_cents: int | None
    max_uses: int | None
    uses: int
    """Coupons in or once in patrons' hands (issued or expired)."""
    created_by_code: str | None
    created_at: datetime
    updated_at: datetime
    issuable_now: bool
    """Active and inside its window at the time of reading."""


class ProgramSaved(Outcome):
    program: ProgramView
    changed: list[str]
    """The fields (or ``status``) this request changed; empty when it changed nothing."""


class CouponView(BaseModel):
    """One coupon as staff see it; ``status`` already reflects on-read expiry."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    validation_number: str
    program_id: uuid.UUID
    program_name: str
    promo_type: PromoType
    status: CouponStatus
    outstanding: bool
    face_value_cents: int
    required_match_wager_cents: int
    at_risk_cents: int
    currency_code: str
    player_id: uuid.UUID | None
    player_name: str | None
    visit_id: uuid.UUID | None
    issued_by_code: str | None
    issued_at: datetime
    expires_at: datetime
    voided_at: datetime | None
    voided_by_code: str | None
    void_reason: str | None
    replaced_at: datetime | None
    replaced_by_code: str | None
    replace_reason: str | None
    replaced_by_coupon_id: uuid.UUID | None
    replaced_by_number: str | None
    replaces_coupon_id: uuid.UUID | None
    replaces_number: str | None
    metadata: dict[str, Any]


class CouponIssued(Outcome):
    coupon: CouponView


class CouponVoided(Outcome):
    coupon: CouponView


class CouponReplaced(Outcome):
    replaced: CouponView
    """The old coupon, now ``replaced``."""
    replacement: CouponView
    """The new coupon, ``issued``, linked from the old one."""


class ExpiryRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: datetime
    expired_count: int
    coupon_ids: list[uuid.UUID]


class CouponPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: list[CouponView]
    next_cursor: str | None
    """Pass back for the next (older) page; None on the last page."""


class WindowFigures(BaseModel):
    """What happened inside the window (up to ``as_of``)."""

    model_config = ConfigDict(frozen=True)

    issued_count: int = 0
    face_value_cents: int = 0
    at_risk_cents: int = 0
    voided_count: int = 0
    replaced_count: int = 0
    expired_count: int = 0


class OutstandingFigures(BaseModel):
    """Point-in-time at ``as_of``, over every coupon ever issued.

    ``outstanding_count = issued_count − (voided_count + expired_count + replaced_count)``.
    Outstanding means uncleared — pitterm has no clearance signal — not unused.
    """

    model_config = ConfigDict(frozen=True)

    issued_count: int = 0
    voided_count: int = 0
    expired_count: int = 0
    replaced_count: int = 0
    outstanding_count: int = 0
    face_value_cents: int = 0
    at_risk_cents: int = 0


class TypeExposure(BaseModel):
    model_config = ConfigDict(frozen=True)

    promo_type: PromoType | None
    """None on the totals row."""
    window: WindowFigures
    outstanding: OutstandingFigures


class ExposureRollup(BaseModel):
    """The promo lens for a gaming day or one of its shifts — never mixed with cash figures."""

    model_config = ConfigDict(frozen=True)

    gaming_day: date
    shift: Shift | None
    """None: the whole gaming day."""
    window_start: datetime
    window_end: datetime
    as_of: datetime
    by_type: list[TypeExposure]
    """One row per instrument type, in PromoType order, zeros included."""
    total: TypeExposure


class PromoAlerts(BaseModel):
    model_config = ConfigDict(frozen=True)

    gaming_day: date
    shift: Shift
    as_of: datetime
    spike: SpikeCheck
    rate: RateCheck
    expiry: ExpiryCheck
    alerts: list[PromoAlert]
    """The checks that fired, in a fixed order (spike, rate, expiry)."""


class PromoLens(BaseModel):
    """Everything the shift dashboard's promo panel shows, read in one transaction."""

    model_config = ConfigDict(frozen=True)

    shift: ExposureRollup
    day: ExposureRollup
    alerts: PromoAlerts


# -- programs ----------------------------------------------------------------------------


def create_program(uow: UnitOfWork, actor: Actor, command: NewProgram) -> ProgramSaved:
    """A new program, in draft: nothing is issued from it until it is activated."""
    require(actor, Capability.MANAGE_PROMO)
    command = parse(NewProgram, command)
    check_window(command.start_at, command.end_at)

    def body() -> ProgramSaved:
        _name_free(uow, actor, command.name)
        now = uow.now()
        program = PromoProgram(
            id=uuid.uuid4(),
            casino_id=actor.casino_id,
            name=command.name,
            promo_type=command.promo_type,
            status=ProgramStatus.DRAFT,
            start_at=command.start_at,
            end_at=command.end_at,
            terms=command.terms,
            min_wager_cents=command.min_wager_cents,
            max_uses=command.max_uses,
            created_by=actor.staff_id,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(program)
        uow.session.flush()
        fields = _program_fields(program)
        audit.by(uow, actor, "promo.program_created", "promo_program", program.id, None, fields)
        return ProgramSaved(program=_program_view(uow, program), changed=sorted(fields))

    return run_idempotent(
        uow,
        actor,
        operation="promo.program_create",
        key=command.idempotency_key,
        request=command,
        result_type=ProgramSaved,
        body=body,
    )


def edit_program(uow: UnitOfWork, actor: Actor, command: EditProgram) -> ProgramSaved:
    """Change what the program's state allows: everything in draft; name, terms, end of
    window, minimum wager and max uses once it has been active; nothing once ended."""
    require(actor, Capability.MANAGE_PROMO)
    command = parse(EditProgram, command)
    check_window(command.start_at, command.end_at)

    def body() -> ProgramSaved:
        program = _program(uow, actor, command.program_id, lock=True)
        before = _program_fields(program)
        wanted = _program_fields_of(command)
        changed = sorted(k for k in wanted if wanted[k] != before[k])
        if not changed:
            return ProgramSaved(program=_program_view(uow, program), changed=[])
        refused = [k for k in changed if k not in EDITABLE_FIELDS[program.status]]
        if refused:
            raise DomainError(
                ErrorCode.PROMO_PROGRAM_NOT_EDITABLE,
                f"A {program.status.value} program's {', '.join(refused)} cannot change"
                + (" (ended is final)." if program.status is ProgramStatus.ENDED else "."),
                fields=refused,
                status=program.status.value,
            )
        now = uow.now()
        if (
            "end_at" in changed
            and program.status is not ProgramStatus.DRAFT
            and command.end_at <= now
        ):
            raise DomainError(
                ErrorCode.PROMO_PROGRAM_WINDOW_INVALID,
                "end_at: a running program's window must end in the future; to stop issuing"
                " now, pause or end the program.",
            )
        if "name" in changed:
            _name_free(uow, actor, command.name)
        if "max_uses" in changed and command.max_uses is not None:
            uses = _uses(uow, program.id)
            if command.max_uses < uses:
                raise DomainError(
                    ErrorCode.VALIDATION_FAILED,
                    f"max_uses: {uses} coupons are already out; the limit cannot go below that.",
                )
        for name in changed:
            setattr(program, name, getattr(command, name))
        program.updated_at = now
        uow.session.flush()
        audit.by(
            uow,
            actor,
            "promo.program_edited",
            "promo_program",
            program.id,
            {k: before[k] for k in changed},
            {k: wanted[k] for k in changed},
        )
        return ProgramSaved(program=_program_view(uow, program), changed=changed)

    return run_idempotent(
        uow,
        actor,
        operation="promo.program_edit",
        key=command.idempotency_key,
        request=command,
        result_type=ProgramSaved,
        body=body,
    )


def activate_program(uow: UnitOfWork, actor: Actor, command: ProgramCommand) -> ProgramSaved:
    """Draft or paused → active. Refused once the window has closed (end it instead)."""
    return _transition(uow, actor, command, ProgramAction.ACTIVATE)


def pause_program(uow: UnitOfWork, actor: Actor, command: ProgramCommand) -> ProgramSaved:
    """Active → paused: issuance stops; outstanding coupons stay valid."""
    return _transition(uow, actor, command, ProgramAction.PAUSE)


def end_program(uow: UnitOfWork, actor: Actor, command: ProgramCommand) -> ProgramSaved:
    """Draft, active or paused → ended, for good. Outstanding coupons run to their expiry."""
    return _transition(uow, actor, command, ProgramAction.END)


_PROGRAM_AUDIT = {
    ProgramAction.ACTIVATE: "promo.program_activated",
    ProgramAction.PAUSE: "promo.program_paused",
    ProgramAction.END: "promo.program_ended",
}


def _transition(
    uow: UnitOfWork, actor: Actor, command: ProgramCommand, action: ProgramAction
) -> ProgramSaved:
    require(actor, Capability.MANAGE_PROMO)
    command = parse(ProgramCommand, command)

    def body() -> ProgramSaved:
        program = _program(uow, actor, command.program_id, lock=True)
        before = program.status
        target = program_transition(before, action)
        now = uow.now()
        if action is ProgramAction.ACTIVATE and program.end_at <= now:
            raise DomainError(
                ErrorCode.PROMO_PROGRAM_WINDOW_INVALID,
                "This program's window has closed; extend end_at first, or end the program.",
                end_at=program.end_at.isoformat(),
            )
        program.status = target
        program.updated_at = now
        uow.session.flush()
        audit.by(
            uow,
            actor,
            _PROGRAM_AUDIT[action],
            "promo_program",
            program.id,
            {"status": before.value},
            {"status": target.value},
        )
        return ProgramSaved(program=_program_view(uow, program), changed=["status"])

    return run_idempotent(
        uow,
        actor,
        operation=f"promo.program_{action.value}",
        key=command.idempotency_key,
        request=command,
        result_type=ProgramSaved,
        body=body,
    )


def programs(
    uow: UnitOfWork, actor: Actor, *, status: ProgramStatus | None = None
) -> list[ProgramView]:
    """The casino's programs, newest window first (optionally of one status)."""
    _require_view(actor)
    with uow:
        query = select(PromoProgram).where(PromoProgram.casino_id == actor.casino_id)
        if status is not None:
            query = query.where(PromoProgram.status == status)
        rows = list(
            uow.session.scalars(query.order_by(PromoProgram.start_at.desc(), PromoProgram.name))
        )
        uses = _uses_by_program(uow, actor)
        codes = _staff_codes(uow, {p.created_by for p in rows})
        now = uow.now()
        return [_program_view_of(p, uses.get(p.id, 0), codes.get(p.created_by), now) for p in rows]


def get_program(uow: UnitOfWork, actor: Actor, program_id: uuid.UUID) -> ProgramView:
    _require_view(actor)
    with uow:
        return _program_view(uow, _program(uow, actor, program_id))


# -- coupons -----------------------------------------------------------------------------


def issue_coupon(uow: UnitOfWork, actor: Actor, command: IssueCoupon) -> CouponIssued:
    """Issue a coupon from an active program inside its window (see the module's rules)."""
    require(actor, Capability.ISSUE_COUPON)
    command = parse(IssueCoupon, command)
    typed = _typed_number(command.validation_number)

    def body() -> CouponIssued:
        now = uow.now()
        program = _program(uow, actor, command.program_id, lock=True)
        check_issuable(program.status, program.start_at, program.end_at, now)
        settings = load_settings(uow, actor.casino_id)
        check_amounts(
            program.promo_type,
            command.face_value_cents,
            command.required_match_wager_cents,
            exact_match=settings.promo_require_exact_match,
            min_wager_cents=program.min_wager_cents,
        )
        player_id = _recipient(uow, actor, settings, command.player_id, command.visit_id)
        expires_at = command.expires_at or program.end_at
        _check_expiry(expires_at, now)
        if program.max_uses is not None and _uses(uow, program.id) >= program.max_uses:
            raise DomainError(
                ErrorCode.PROMO_PROGRAM_USES_EXHAUSTED,
                f"This program's {program.max_uses} coupons have all been issued.",
                max_uses=program.max_uses,
            )
        if typed is not None:
            _check_prefix(typed, program.promo_type)

        def build(number: str) -> PromoCoupon:
            return PromoCoupon(
                id=uuid.uuid4(),
                casino_id=actor.casino_id,
                program_id=program.id,
                validation_number=number,
                face_value_cents=command.face_value_cents,
                required_match_wager_cents=command.required_match_wager_cents,
                currency_code="USD",
                issued_to_player_id=player_id,
                issued_to_visit_id=command.visit_id,
                issued_by=actor.staff_id,
                issued_at=now,
                expires_at=expires_at,
                status=CouponStatus.ISSUED,
                metadata_={
                    **command.metadata,
                    "number_source": "pre-printed" if typed else "generated",
                },
            )

        coupon = _insert_coupon(uow, actor, build, program.promo_type, typed)
        audit.by(
            uow,
            actor,
            "promo.coupon_issued",
            "promo_coupon",
            coupon.id,
            None,
            _coupon_facts(coupon),
        )
        return CouponIssued(coupon=_coupon_view(uow, actor, coupon.id))

    return run_idempotent(
        uow,
        actor,
        operation="promo.coupon_issue",
        key=command.idempotency_key,
        request=command,
        result_type=CouponIssued,
        body=body,
    )


def void_coupon(uow: UnitOfWork, actor: Actor, command: VoidCoupon) -> CouponVoided:
    """Void an outstanding coupon, with a reason. Final."""
    require(actor, Capability.MANAGE_PROMO)
    command = parse(VoidCoupon, command)
    reason = _reason(command.reason, "void")

    def body() -> CouponVoided:
        now = uow.now()
        coupon = _coupon_for_update(uow, actor, command.coupon_id)
        coupon_transition(
            effective_status(coupon.status, coupon.expires_at, now), CouponAction.VOID
        )
        coupon.status = CouponStatus.VOIDED
        coupon.void_reason = reason
        coupon.voided_by = actor.staff_id
        coupon.voided_at = now
        uow.session.flush()
        audit.by(
            uow,
            actor,
            "promo.coupon_voided",
            "promo_coupon",
            coupon.id,
            {"status": CouponStatus.ISSUED.value},
            {"status": CouponStatus.VOIDED.value, "reason": reason},
        )
        return CouponVoided(coupon=_coupon_view(uow, actor, coupon.id))

    return run_idempotent(
        uow,
        actor,
        operation="promo.coupon_void",
        key=command.idempotency_key,
        request=command,
        result_type=CouponVoided,
        body=body,
    )


def replace_coupon(uow: UnitOfWork, actor: Actor, command: ReplaceCoupon) -> CouponReplaced:
    """Mark an outstanding coupon ``replaced`` and issue its successor (same terms), linked."""
    require(actor, Capability.MANAGE_PROMO)
    command = parse(ReplaceCoupon, command)
    reason = _reason(command.reason, "replacement")
    typed = _typed_number(command.validation_number)

    def body() -> CouponReplaced:
        now = uow.now()
        old = _coupon_for_update(uow, actor, command.coupon_id)
        coupon_transition(effective_status(old.status, old.expires_at, now), CouponAction.REPLACE)
        promo_type = uow.session.scalars(
            select(PromoProgram.promo_type).where(PromoProgram.id == old.program_id)
        ).one()
        expires_at = command.expires_at or old.expires_at
        _check_expiry(expires_at, now)
        if typed is not None:
            _check_prefix(typed, promo_type)
        kept = {k: v for k, v in old.metadata_.items() if k not in RESERVED_METADATA}

        def build(number: str) -> PromoCoupon:
            return PromoCoupon(
                id=uuid.uuid4(),
                casino_id=actor.casino_id,
                program_id=old.program_id,
                validation_number=number,
                face_value_cents=old.face_value_cents,
                required_match_wager_cents=old.required_match_wager_cents,
                currency_code=old.currency_code,
                issued_to_player_id=old.issued_to_player_id,
                issued_to_visit_id=old.issued_to_visit_id,
                issued_by=actor.staff_id,
                issued_at=now,
                expires_at=expires_at,
                status=CouponStatus.ISSUED,
                metadata_={
                    **kept,
                    "number_source": "pre-printed" if typed else "generated",
                    "replaces": old.validation_number,
                },
            )

        new = _insert_coupon(uow, actor, build, promo_type, typed)
        old.status = CouponStatus.REPLACED
        old.replaced_by_coupon_id = new.id
        old.replaced_by = actor.staff_id
        old.replaced_at = now
        old.replace_reason = reason
        uow.session.flush()
        audit.by(
            uow,
            actor,
            "promo.coupon_replaced",
            "promo_coupon",
            old.id,
            {"status": CouponStatus.ISSUED.value},
            {
                "status": CouponStatus.REPLACED.value,
                "reason": reason,
                "replaced_by_coupon_id": str(new.id),
                "replaced_by_number": new.validation_number,
            },
        )
        audit.by(
            uow,
            actor,
            "promo.coupon_issued",
            "promo_coupon",
            new.id,
            None,
            {**_coupon_facts(new), "replaces_coupon_id": str(old.id)},
        )
        return CouponReplaced(
            replaced=_coupon_view(uow, actor, old.id),
            replacement=_coupon_view(uow, actor, new.id),
        )

    return run_idempotent(
        uow,
        actor,
        operation="promo.coupon_replace",
        key=command.idempotency_key,
        request=command,
        result_type=CouponReplaced,
        body=body,
    )


def expire_due(uow: UnitOfWork, actor: Actor) -> ExpiryRun:
    """The expiry job: persist ``expired`` on every issued coupon past its expiry, audited.

    Readers already see such coupons as expired; this makes the stored state agree. Running
    it again (or on two terminals at once) expires nothing twice.
    """
    _require_view(actor)
    with uow:
        now = uow.now()
        due = list(
            uow.session.scalars(
                select(PromoCoupon)
                .where(
                    PromoCoupon.casino_id == actor.casino_id,
                    PromoCoupon.status == CouponStatus.ISSUED,
                    PromoCoupon.expires_at <= now,
                )
                .order_by(PromoCoupon.expires_at, PromoCoupon.id)
                .with_for_update()
            )
        )
        for coupon in due:
            coupon.status = CouponStatus.EXPIRED
            audit.by(
                uow,
                actor,
                "promo.coupon_expired",
                "promo_coupon",
                coupon.id,
                {"status": CouponStatus.ISSUED.value},
                {"status": CouponStatus.EXPIRED.value, "expires_at": coupon.expires_at.isoformat()},
            )
        uow.commit()
        return ExpiryRun(as_of=now, expired_count=len(due), coupon_ids=[c.id for c in due])


def get_coupon(uow: UnitOfWork, actor: Actor, coupon_id: uuid.UUID) -> CouponView:
    _require_view(actor)
    with uow:
        return _coupon_view(uow, actor, coupon_id)


def lookup(uow: UnitOfWork, actor: Actor, validation_number: str) -> CouponView:
    """The coupon a typed number names. The check character is verified before any search,
    so a mistyped number says so (PROMO_VALIDATION_NUMBER_MISTYPED) instead of 'not found'."""
    _require_view(actor)
    number = _typed_number(validation_number)
    assert number is not None
    with uow:
        coupon_id = uow.session.scalar(
            select(PromoCoupon.id).where(
                PromoCoupon.casino_id == actor.casino_id,
                PromoCoupon.validation_number == number.text,
            )
        )
        if coupon_id is None:
            raise DomainError(
                ErrorCode.PROMO_COUPON_NOT_FOUND,
                f"No coupon {number.text} was issued at this casino.",
                validation_number=number.text,
            )
        return _coupon_view(uow, actor, coupon_id)


def inventory(
    uow: UnitOfWork,
    actor: Actor,
    where: CouponFilter | None = None,
    cursor: str | None = None,
    limit: int = INVENTORY_PAGE,
) -> CouponPage:
    """Coupons newest first, a page at a time by keyset on (issued_at, id)."""
    _require_view(actor)
    where = parse(CouponFilter, where or CouponFilter())
    limit = max(1, min(limit, 500))
    after = cursors.decode(cursor, ErrorCode.PROMO_CURSOR_INVALID) if cursor else None
    with uow:
        rows = _inventory_rows(uow, actor, where, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return CouponPage(
        rows=rows,
        next_cursor=cursors.encode(rows[-1].issued_at, rows[-1].id) if more and rows else None,
    )


INVENTORY_CSV_HEADER = (
    "validation_number",
    "status",
    "promo_type",
    "program",
    "face_value",
    "required_match_wager",
    "at_risk",
    "currency",
    "player",
    "player_id",
    "visit_id",
    "issued_at",
    "issued_by",
    "expires_at",
    "voided_at",
    "voided_by",
    "void_reason",
    "replaced_at",
    "replaced_by",
    "replace_reason",
    "replaced_by_number",
    "replaces_number",
)


def export_inventory_csv(
    uow: UnitOfWork, actor: Actor, where: CouponFilter | None, out: TextIO
) -> int:
    """Write the filtered inventory as CSV (formula-injection safe), page by page. Returns rows.

    Amounts are dollars with two decimals; times are ISO 8601 in UTC.
    """
    _require_view(actor)
    where = parse(CouponFilter, where or CouponFilter())
    out.write(write_rows(INVENTORY_CSV_HEADER, []))
    count = 0
    for page in _pages(uow, actor, where):
        out.write(write_rows(None, (_csv_row(c) for c in page)))
        count += len(page)
    return count


# -- exposure and alerts -----------------------------------------------------------------


def exposure(
    uow: UnitOfWork,
    actor: Actor,
    *,
    gaming_day: date | None = None,
    shift: Shift | None = None,
    as_of: datetime | None = None,
) -> ExposureRollup:
    """The promo lens for a gaming day (default: the one ``as_of`` falls in) or one shift."""
    _require_view(actor)
    with uow:
        settings = load_settings(uow, actor.casino_id)
        at = _as_of(uow, as_of)
        day = (
            gaming_day
            if gaming_day is not None
            else gaming_day_of(at, settings.time_zone, settings.gaming_day_start)
        )
        return _rollup(uow, actor, settings, day, shift, at)


def alerts(uow: UnitOfWork, actor: Actor, *, as_of: datetime | None = None) -> PromoAlerts:
    """The rule-based promo alerts for the shift ``as_of`` (default now) falls in."""
    _require_view(actor)
    with uow:
        settings = load_settings(uow, actor.casino_id)
        at = _as_of(uow, as_of)
        day, shift = shift_at(at, settings.time_zone, settings.gaming_day_start)
        current = _rollup(uow, actor, settings, day, shift, at)
        return _alerts(uow, actor, settings, current)


def shift_lens(uow: UnitOfWork, actor: Actor, *, as_of: datetime | None = None) -> PromoLens:
    """This shift's and this gaming day's exposure, and the alerts: the dashboard's promo panel."""
    _require_view(actor)
    with uow:
        settings = load_settings(uow, actor.casino_id)
        at = _as_of(uow, as_of)
        day, shift = shift_at(at, settings.time_zone, settings.gaming_day_start)
        current = _rollup(uow, actor, settings, day, shift, at)
        return PromoLens(
            shift=current,
            day=_rollup(uow, actor, settings, day, None, at),
            alerts=_alerts(uow, actor, settings, current),
        )


class HourlyIssuance(BaseModel):
    """Coupons issued in each hour of one shift: the dashboard's issuance chart."""

    model_config = ConfigDict(frozen=True)

    gaming_day: date
    shift: Shift
    time_zone: str
    """The casino's zone, for labelling the hours."""
    start: datetime
    """The start of the shift's first hour."""
    as_of: datetime
    counts: list[int]
    """One count per hour of the shift, oldest first; hours after ``as_of`` count 0."""


def issuance_by_hour(
    uow: UnitOfWork, actor: Actor, *, as_of: datetime | None = None
) -> HourlyIssuance:
    """Coupons issued (replacements included) per hour of the shift ``as_of`` falls in."""
    _require_view(actor)
    with uow:
        settings = load_settings(uow, actor.casino_id)
        at = _as_of(uow, as_of)
        day, shift = shift_at(at, settings.time_zone, settings.gaming_day_start)
        start, end = shift_window(day, shift, settings.time_zone, settings.gaming_day_start)
        hours = max(1, -(-int((end - start).total_seconds()) // 3600))
        issued = uow.session.scalars(
            select(PromoCoupon.issued_at).where(
                PromoCoupon.casino_id == actor.casino_id,
                _between(PromoCoupon.issued_at, start, end, at),
            )
        )
        counts = [0] * hours
        for stored in issued:
            moment = stored if stored.tzinfo is not None else stored.replace(tzinfo=UTC)
            index = int((moment - start).total_seconds() // 3600)
            counts[min(max(index, 0), hours - 1)] += 1
        return HourlyIssuance(
            gaming_day=day,
            shift=shift,
            time_zone=settings.time_zone,
            start=start,
            as_of=at,
            counts=counts,
        )


def _as_of(uow: UnitOfWork, as_of: datetime | None) -> datetime:
    now = uow.now()
    if as_of is None:
        return now
    if as_of.tzinfo is None or as_of > now:
        raise DomainError(ErrorCode.VALIDATION_FAILED, "as_of: an aware time no later than now.")
    return as_of


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _amount(
    condition: ColumnElement[bool], amount: ColumnExpressionArgument[int]
) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)


def _between(column: Any, start: datetime, end: datetime, at: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end, column <= at)


def _outstanding_at(at: datetime) -> ColumnElement[bool]:
    """Outstanding at ``at``, from timestamps alone: issued, and not voided, replaced or
    expired by then (a void or replacement always precedes expiry)."""
    c = PromoCoupon
    return and_(
        c.issued_at <= at,
        or_(c.voided_at.is_(None), c.voided_at > at),
        or_(c.replaced_at.is_(None), c.replaced_at > at),
        c.expires_at > at,
    )


def _at_risk() -> ColumnElement[int]:
    return case(
        (PromoProgram.promo_type == PromoType.MATCH_PLAY, PromoCoupon.required_match_wager_cents),
        else_=0,
    )


def _rollup(
    uow: UnitOfWork,
    actor: Actor,
    settings: CasinoSettings,
    day: date,
    shift: Shift | None,
    at: datetime,
) -> ExposureRollup:
    tz, day_start = settings.time_zone, settings.gaming_day_start
    start, end = (
        gaming_day_window(day, tz, day_start)
        if shift is None
        else shift_window(day, shift, tz, day_start)
    )
    c = PromoCoupon
    face = c.face_value_cents
    risk = _at_risk()
    undone_never = and_(c.voided_at.is_(None), c.replaced_at.is_(None))
    issued_in = _between(c.issued_at, start, end, at)
    outstanding = _outstanding_at(at)
    rows = uow.session.execute(
        select(
            PromoProgram.promo_type,
            _count(issued_in),
            _amount(issued_in, face),
            _amount(issued_in, risk),
            _count(_between(c.voided_at, start, end, at)),
            _count(_between(c.replaced_at, start, end, at)),
            _count(and_(_between(c.expires_at, start, end, at), undone_never)),
            func.count(),
            _count(c.voided_at <= at),
            _count(and_(c.expires_at <= at, undone_never)),
            _count(c.replaced_at <= at),
            _count(outstanding),
            _amount(outstanding, face),
            _amount(outstanding, risk),
        )
        .join(PromoProgram, PromoProgram.id == c.program_id)
        .where(c.casino_id == actor.casino_id, c.issued_at <= at)
        .group_by(PromoProgram.promo_type)
    ).all()
    found: dict[PromoType, TypeExposure] = {}
    for promo_type, *n in rows:
        v = [int(x) for x in n]
        found[PromoType(promo_type)] = TypeExposure(
            promo_type=PromoType(promo_type),
            window=WindowFigures(
                issued_count=v[0],
                face_value_cents=v[1],
                at_risk_cents=v[2],
                voided_count=v[3],
                replaced_count=v[4],
                expired_count=v[5],
            ),
            outstanding=OutstandingFigures(
                issued_count=v[6],
                voided_count=v[7],
                expired_count=v[8],
                replaced_count=v[9],
                outstanding_count=v[10],
                face_value_cents=v[11],
                at_risk_cents=v[12],
            ),
        )
    by_type = [
        found.get(
            t, TypeExposure(promo_type=t, window=WindowFigures(), outstanding=OutstandingFigures())
        )
        for t in PromoType
    ]
    return ExposureRollup(
        gaming_day=day,
        shift=shift,
        window_start=start,
        window_end=end,
        as_of=at,
        by_type=by_type,
        total=TypeExposure(
            promo_type=None,
            window=_sum_models(WindowFigures, [t.window for t in by_type]),
            outstanding=_sum_models(OutstandingFigures, [t.outstanding for t in by_type]),
        ),
    )


M = TypeVar("M", bound=BaseModel)


def _sum_models(model: type[M], parts: Sequence[M]) -> M:
    return model(**{f: sum(getattr(p, f) for p in parts) for f in model.model_fields})


def _alerts(
    uow: UnitOfWork, actor: Actor, settings: CasinoSettings, current: ExposureRollup
) -> PromoAlerts:
    assert current.shift is not None
    tz, day_start = settings.time_zone, settings.gaming_day_start
    at, day, shift = current.as_of, current.gaming_day, current.shift
    c = PromoCoupon
    first = uow.session.scalar(
        select(func.min(c.issued_at)).where(c.casino_id == actor.casino_id, c.issued_at <= at)
    )
    history: list[int] = []
    if first is not None:
        first_day = gaming_day_of(first, tz, day_start)
        days = [day - timedelta(days=n) for n in range(SPIKE_HISTORY_DAYS, 0, -1)]
        days = [d for d in days if d >= first_day]
        if days:
            windows = [shift_window(d, shift, tz, day_start) for d in days]
            counts = uow.session.execute(
                select(
                    *(_count(and_(c.issued_at >= s, c.issued_at < e)) for s, e in windows)
                ).where(c.casino_id == actor.casino_id)
            ).one()
            history = [int(n) for n in counts]
    spike = assess_spike(
        current.total.window.issued_count,
        history,
        k=settings.promo_spike_mad_k,
        min_history_days=settings.promo_spike_min_history_days,
    )
    window = current.total.window
    rate = assess_rate(
        window.issued_count,
        window.voided_count,
        window.replaced_count,
        threshold=settings.promo_void_rate_alert,
    )
    horizon = at + timedelta(hours=settings.promo_expiry_alert_hours)
    soon = and_(_outstanding_at(at), c.expires_at <= horizon)
    risk = _at_risk()
    count, face, at_risk = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(c.face_value_cents), 0),
            func.coalesce(func.sum(risk), 0),
        )
        .join(PromoProgram, PromoProgram.id == c.program_id)
        .where(c.casino_id == actor.casino_id, soon)
    ).one()
    expiry = assess_expiry(
        int(count), int(face), int(at_risk), hours=settings.promo_expiry_alert_hours
    )
    return PromoAlerts(
        gaming_day=day,
        shift=shift,
        as_of=at,
        spike=spike,
        rate=rate,
        expiry=expiry,
        alerts=raised_alerts(spike, rate, expiry),
    )


# -- helpers -----------------------------------------------------------------------------


def _require_view(actor: Actor) -> None:
    if not (can(actor.role, Capability.ISSUE_COUPON) or can(actor.role, Capability.MANAGE_PROMO)):
        raise DomainError(
            ErrorCode.AUTH_FORBIDDEN,
            f"A {actor.role.label.lower()} may not view promo programs and coupons.",
            capability=Capability.ISSUE_COUPON.value,
            role=actor.role.value,
        )


def _reason(text: str, what: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise DomainError(
            ErrorCode.PROMO_REASON_REQUIRED, f"reason: say why (a {what} needs a reason)."
        )
    return reason


def _typed_number(text: str | None) -> ValidationNumber | None:
    if text is None:
        return None
    try:
        return promo_numbers.parse(text)
    except NumberCheckError as error:
        raise DomainError(
            ErrorCode.PROMO_VALIDATION_NUMBER_MISTYPED,
            f"validation_number: {error} — check the number on the coupon.",
        ) from error
    except InvalidNumber as error:
        raise DomainError(
            ErrorCode.PROMO_VALIDATION_NUMBER_INVALID, f"validation_number: {error}."
        ) from error


def _check_prefix(number: ValidationNumber, promo_type: PromoType) -> None:
    if number.prefix != promo_type.prefix:
        raise DomainError(
            ErrorCode.PROMO_VALIDATION_NUMBER_INVALID,
            f"validation_number: {number.text} is not {promo_type.label.lower()} stock"
            f" (those numbers start {promo_type.prefix}).",
        )


def _check_expiry(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise DomainError(
            ErrorCode.PROMO_EXPIRY_INVALID,
            "expires_at: a coupon must expire after it is issued.",
            expires_at=expires_at.isoformat(),
        )


def _recipient(
    uow: UnitOfWork,
    actor: Actor,
    settings: CasinoSettings,
    player_id: uuid.UUID | None,
    visit_id: uuid.UUID | None,
) -> uuid.UUID | None:
    """The coupon's player: given, or the visit's. Anonymous only where the casino allows."""
    if visit_id is not None:
        visit = uow.session.scalar(
            select(Visit).where(Visit.id == visit_id, Visit.casino_id == actor.casino_id)
        )
        if visit is None:
            raise DomainError(ErrorCode.VISIT_NOT_FOUND, "No such visit at this casino.")
        if visit.status is not VisitStatus.OPEN:
            raise DomainError(
                ErrorCode.VISIT_NOT_OPEN, "That visit is closed; coupons tie to open visits."
            )
        if player_id is not None and visit.player_id != player_id:
            raise DomainError(
                ErrorCode.PROMO_VISIT_MISMATCH,
                "That visit is not this player's.",
                visit_player_id=str(visit.player_id) if visit.player_id else None,
            )
        player_id = visit.player_id
    if player_id is not None:
        found = uow.session.scalar(
            select(exists().where(Player.id == player_id, Player.casino_id == actor.casino_id))
        )
        if not found:
            raise DomainError(ErrorCode.PLAYER_NOT_FOUND, "No such player at this casino.")
    elif not settings.promo_allow_anonymous_issuance:
        raise DomainError(
            ErrorCode.PROMO_ANONYMOUS_NOT_ALLOWED,
            "This casino issues coupons to identified players only: choose a player.",
        )
    return player_id


def _insert_coupon(
    uow: UnitOfWork,
    actor: Actor,
    build: Callable[[str], PromoCoupon],
    promo_type: PromoType,
    typed: ValidationNumber | None,
) -> PromoCoupon:
    """Insert the coupon under a number unique across all casinos (each try in a savepoint)."""
    if typed is not None:
        taken = uow.session.scalar(
            select(
                exists().where(
                    PromoCoupon.casino_id == actor.casino_id,
                    PromoCoupon.validation_number == typed.text,
                )
            )
        )
        if taken:
            raise _number_taken(typed)
    for _attempt in range(NUMBER_ATTEMPTS):
        number = typed if typed is not None else promo_numbers.generate(promo_type.prefix)
        coupon = build(number.text)
        try:
            with uow.session.begin_nested():
                uow.session.add(coupon)
        except exc.IntegrityError as error:
            if "validation_number" not in str(error.orig):
                raise
            if typed is not None:
                raise _number_taken(typed) from error
            continue
        return coupon
    raise DomainError(
        ErrorCode.PROMO_VALIDATION_NUMBER_EXHAUSTED,
        "No free validation number was found; nothing was issued. Try again.",
    )


def _number_taken(number: ValidationNumber) -> DomainError:
    return DomainError(
        ErrorCode.PROMO_VALIDATION_NUMBER_TAKEN,
        f"validation_number: {number.text} is already in use; take the next coupon from the"
        " stock (and keep this one aside for the shift report).",
        validation_number=number.text,
    )


def _name_free(uow: UnitOfWork, actor: Actor, name: str) -> None:
    taken = uow.session.scalar(
        select(exists().where(PromoProgram.casino_id == actor.casino_id, PromoProgram.name == name))
    )
    if taken:
        raise DomainError(
            ErrorCode.PROMO_PROGRAM_NAME_TAKEN, f"name: a program called {name!r} exists."
        )


def _program(
    uow: UnitOfWork, actor: Actor, program_id: uuid.UUID, *, lock: bool = False
) -> PromoProgram:
    return records.one_or_raise(
        uow,
        select(PromoProgram).where(
            PromoProgram.id == program_id, PromoProgram.casino_id == actor.casino_id
        ),
        DomainError(ErrorCode.PROMO_PROGRAM_NOT_FOUND, "No such promo program here."),
        lock=lock,
    )


def _coupon_for_update(uow: UnitOfWork, actor: Actor, coupon_id: uuid.UUID) -> PromoCoupon:
    return records.one_or_raise(
        uow,
        select(PromoCoupon).where(
            PromoCoupon.id == coupon_id, PromoCoupon.casino_id == actor.casino_id
        ),
        DomainError(ErrorCode.PROMO_COUPON_NOT_FOUND, "No such coupon at this casino."),
        lock=True,
    )


def _uses(uow: UnitOfWork, program_id: uuid.UUID) -> int:
    return int(
        uow.session.scalar(
            select(func.count()).where(
                PromoCoupon.program_id == program_id, PromoCoupon.status.in_(USES)
            )
        )
        or 0
    )


def _uses_by_program(uow: UnitOfWork, actor: Actor) -> dict[uuid.UUID, int]:
    rows = uow.session.execute(
        select(PromoCoupon.program_id, func.count())
        .where(PromoCoupon.casino_id == actor.casino_id, PromoCoupon.status.in_(USES))
        .group_by(PromoCoupon.program_id)
    ).all()
    return {program_id: int(n) for program_id, n in rows}


def _staff_codes(uow: UnitOfWork, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = uow.session.execute(select(Staff.id, Staff.code).where(Staff.id.in_(ids))).all()
    return {staff_id: code for staff_id, code in rows}  # noqa: C416 (rows are Row objects)


_PROGRAM_FIELDS = (
    "name",
    "promo_type",
    "start_at",
    "end_at",
    "terms",
    "min_wager_cents",
    "max_uses",
)


def _program_fields(program: PromoProgram) -> dict[str, Any]:
    return _jsonable({f: getattr(program, f) for f in _PROGRAM_FIELDS})


def _program_fields_of(command: NewProgram) -> dict[str, Any]:
    return _jsonable({f: getattr(command, f) for f in _PROGRAM_FIELDS})


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Audit-ready values; equal values compare equal (times as UTC ISO text)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            out[key] = value.astimezone(UTC).isoformat()
        elif isinstance(value, PromoType):
            out[key] = value.value
        else:
            out[key] = value
    return out


def _program_view(uow: UnitOfWork, program: PromoProgram) -> ProgramView:
    codes = _staff_codes(uow, {program.created_by})
    return _program_view_of(
        program, _uses(uow, program.id), codes.get(program.created_by), uow.now()
    )


def _program_view_of(
    program: PromoProgram, uses: int, created_by_code: str | None, now: datetime
) -> ProgramView:
    return ProgramView(
        id=program.id,
        name=program.name,
        promo_type=program.promo_type,
        status=program.status,
        start_at=program.start_at,
        end_at=program.end_at,
        terms=program.terms,
        min_wager_cents=program.min_wager_cents,
        max_uses=program.max_uses,
        uses=uses,
        created_by_code=created_by_code,
        created_at=program.created_at,
        updated_at=program.updated_at,
        issuable_now=(
            program.status is ProgramStatus.ACTIVE and program.start_at <= now < program.end_at
        ),
    )


def _coupon_facts(coupon: PromoCoupon) -> dict[str, Any]:
    return {
        "validation_number": coupon.validation_number,
        "program_id": str(coupon.program_id),
        "face_value_cents": coupon.face_value_cents,
        "required_match_wager_cents": coupon.required_match_wager_cents,
        "player_id": str(coupon.issued_to_player_id) if coupon.issued_to_player_id else None,
        "visit_id": str(coupon.issued_to_visit_id) if coupon.issued_to_visit_id else None,
        "expires_at": coupon.expires_at.isoformat(),
        "number_source": coupon.metadata_.get("number_source"),
    }


def _coupon_query() -> Any:
    issuer, voider, replacer = aliased(Staff), aliased(Staff), aliased(Staff)
    successor, predecessor = aliased(PromoCoupon), aliased(PromoCoupon)
    return (
        select(
            PromoCoupon,
            PromoProgram.name,
            PromoProgram.promo_type,
            Player.first_name,
            Player.last_name,
            issuer.code,
            voider.code,
            replacer.code,
            successor.validation_number,
            predecessor.id,
            predecessor.validation_number,
        )
        .join(PromoProgram, PromoProgram.id == PromoCoupon.program_id)
        .outerjoin(Player, Player.id == PromoCoupon.issued_to_player_id)
        .outerjoin(issuer, issuer.id == PromoCoupon.issued_by)
        .outerjoin(voider, voider.id == PromoCoupon.voided_by)
        .outerjoin(replacer, replacer.id == PromoCoupon.replaced_by)
        .outerjoin(successor, successor.id == PromoCoupon.replaced_by_coupon_id)
        .outerjoin(predecessor, predecessor.replaced_by_coupon_id == PromoCoupon.id)
    )


def _coupon_view(uow: UnitOfWork, actor: Actor, coupon_id: uuid.UUID) -> CouponView:
    row = uow.session.execute(
        _coupon_query().where(PromoCoupon.id == coupon_id, PromoCoupon.casino_id == actor.casino_id)
    ).first()
    if row is None:
        raise DomainError(ErrorCode.PROMO_COUPON_NOT_FOUND, "No such coupon at this casino.")
    return _view_of(row, uow.now())


def _view_of(row: Any, now: datetime) -> CouponView:
    (
        c,
        program_name,
        promo_type,
        first,
        last,
        issuer_code,
        voider_code,
        replacer_code,
        successor_number,
        predecessor_id,
        predecessor_number,
    ) = row
    status = effective_status(c.status, c.expires_at, now)
    return CouponView(
        id=c.id,
        validation_number=c.validation_number,
        program_id=c.program_id,
        program_name=program_name,
        promo_type=promo_type,
        status=status,
        outstanding=status is CouponStatus.ISSUED,
        face_value_cents=c.face_value_cents,
        required_match_wager_cents=c.required_match_wager_cents,
        at_risk_cents=at_risk_cents(promo_type, c.required_match_wager_cents),
        currency_code=c.currency_code,
        player_id=c.issued_to_player_id,
        player_name=f"{first} {last}" if first is not None else None,
        visit_id=c.issued_to_visit_id,
        issued_by_code=issuer_code,
        issued_at=c.issued_at,
        expires_at=c.expires_at,
        voided_at=c.voided_at,
        voided_by_code=voider_code,
        void_reason=c.void_reason,
        replaced_at=c.replaced_at,
        replaced_by_code=replacer_code,
        replace_reason=c.replace_reason,
        replaced_by_coupon_id=c.replaced_by_coupon_id,
        replaced_by_number=successor_number,
        replaces_coupon_id=predecessor_id,
        replaces_number=predecessor_number,
        metadata=dict(c.metadata_),
    )


def _status_condition(status: CouponStatus, now: datetime) -> ColumnElement[bool]:
    """The SQL twin of ``effective_status``: what a reader filtering by status means."""
    c = PromoCoupon
    if status is CouponStatus.ISSUED:
        return and_(c.status == CouponStatus.ISSUED, c.expires_at > now)
    if status is CouponStatus.EXPIRED:
        return or_(
            c.status == CouponStatus.EXPIRED,
            and_(c.status == CouponStatus.ISSUED, c.expires_at <= now),
        )
    return c.status == status


def _inventory_rows(
    uow: UnitOfWork,
    actor: Actor,
    where: CouponFilter,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[CouponView]:
    now = uow.now()
    c = PromoCoupon
    conditions: list[ColumnElement[bool]] = [c.casino_id == actor.casino_id]
    if where.program_id is not None:
        conditions.append(c.program_id == where.program_id)
    if where.status is not None:
        conditions.append(_status_condition(where.status, now))
    if where.promo_type is not None:
        conditions.append(PromoProgram.promo_type == where.promo_type)
    if where.player_id is not None:
        conditions.append(c.issued_to_player_id == where.player_id)
    if where.issued_since is not None:
        conditions.append(c.issued_at >= where.issued_since)
    if where.issued_until is not None:
        conditions.append(c.issued_at < where.issued_until)
    if after is not None:
        conditions.append(tuple_(c.issued_at, c.id) < tuple_(*after))
    rows = uow.session.execute(
        _coupon_query()
        .where(and_(*conditions))
        .order_by(c.issued_at.desc(), c.id.desc())
        .limit(limit)
    ).all()
    return [_view_of(row, now) for row in rows]


def _pages(uow: UnitOfWork, actor: Actor, where: CouponFilter) -> Iterator[list[CouponView]]:
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        with uow:
            rows = _inventory_rows(uow, actor, where, after, 500)
        if not rows:
            return
        yield rows
        after = (rows[-1].issued_at, rows[-1].id)


def _csv_row(c: CouponView) -> list[object]:
    def when(at: datetime | None) -> str | None:
        return at.isoformat() if at is not None else None

    return [
        c.validation_number,
        c.status.value,
        c.promo_type.value,
        c.program_name,
        _money(c.face_value_cents),
        _money(c.required_match_wager_cents),
        _money(c.at_risk_cents),
        c.currency_code,
        c.player_name,
        c.player_id,
        c.visit_id,
        when(c.issued_at),
        c.issued_by_code,
        when(c.expires_at),
        when(c.voided_at),
        c.voided_by_code,
        c.void_reason,
        when(c.replaced_at),
        c.replaced_by_code,
        c.replace_reason,
        c.replaced_by_number,
        c.replaces_number,
    ]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


__all__ = [
    "INVENTORY_CSV_HEADER",
    "CouponFilter",
    "CouponIssued",
    "CouponPage",
    "CouponReplaced",
    "CouponView",
    "CouponVoided",
    "EditProgram",
    "ExpiryRun",
    "ExposureRollup",
    "HourlyIssuance",
    "IssueCoupon",
    "NewProgram",
    "OutstandingFigures",
    "ProgramCommand",
    "ProgramSaved",
    "ProgramView",
    "PromoAlerts",
    "PromoLens",
    "ReplaceCoupon",
    "TypeExposure",
    "VoidCoupon",
    "WindowFigures",
    "activate_program",
    "alerts",
    "create_program",
    "edit_program",
    "end_program",
    "expire_due",
    "export_inventory_csv",
    "exposure",
    "get_coupon",
    "get_program",
    "inventory",
    "issuance_by_hour",
    "issue_coupon",
    "lookup",
    "pause_program",
    "programs",
    "replace_coupon",
    "shift_lens",
    "void_coupon",
]
