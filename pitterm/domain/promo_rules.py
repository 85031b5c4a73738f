"""Promotional instruments' pure rules (seed 004, DESIGN §7): no database, no clock of their own.

The vocabulary (instrument types, program and coupon states, shifts), the legal state
transitions, the match-wager rule, the point-in-time status of a coupon, shift windows, and
the alert rules. The service (pitterm.domain.promo) gathers the inputs and applies these.

Definitions the rest of pitterm relies on:

* **Match wager.** A match-play coupon's *face value* is what the house puts on the bet; its
  *required match wager* is the patron's own money that must go down with it, and is the
  patron's at-risk amount. It must be positive and, when the casino requires an exact match
  (``promo_require_exact_match``), equal the face value; otherwise (the default) at least
  the face value. A program's ``min_wager_cents`` is a floor on it as well. Other instrument
  types carry no match wager (0), so their at-risk amount is 0.
* **Point-in-time status.** At time T a coupon issued at or before T is *voided* if
  ``voided_at ≤ T``, *replaced* if ``replaced_at ≤ T``, *expired* if ``expires_at ≤ T`` and
  neither happened (a void or replacement always precedes expiry), and *outstanding*
  otherwise. Outstanding = issued − (voided + expired + replaced).
* **Shifts.** Three eight-hour shifts from the gaming day's start in the casino's local
  time: day [start, +8 h), swing [+8 h, +16 h), grave [+16 h, next day's start) — the grave
  shift absorbs a daylight-saving hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.gaming_day import gaming_day

MAX_COUPON_CENTS = 10_000_000
"""$100,000.00: no coupon is worth more, nor asks more of the patron; above is a typing error."""
SHIFT_HOURS = 8
SPIKE_HISTORY_DAYS = 7
"""The spike baseline: the same shift on each of the trailing seven gaming days."""


class PromoType(StrEnum):
    MATCH_PLAY = "match_play"
    NONNEGOTIABLE = "nonnegotiable"
    FREE_BET = "free_bet"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def prefix(self) -> str:
        """The first two characters of this type's validation numbers."""
        return _PREFIXES[self]


_PREFIXES = {
    PromoType.MATCH_PLAY: "MP",
    PromoType.NONNEGOTIABLE: "NN",
    PromoType.FREE_BET: "FB",
    PromoType.OTHER: "PR",
}


class ProgramStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class ProgramAction(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    END = "end"


class CouponStatus(StrEnum):
    ISSUED = "issued"
    VOIDED = "voided"
    EXPIRED = "expired"
    REPLACED = "replaced"


class CouponAction(StrEnum):
    VOID = "void"
    REPLACE = "replace"
    EXPIRE = "expire"


class Shift(StrEnum):
    DAY = "day"
    SWING = "swing"
    GRAVE = "grave"

    @property
    def ordinal(self) -> int:
        return list(Shift).index(self)


PROGRAM_TRANSITIONS: dict[ProgramAction, tuple[frozenset[ProgramStatus], ProgramStatus]] = {
    ProgramAction.ACTIVATE: (
        frozenset({ProgramStatus.DRAFT, ProgramStatus.PAUSED}),
        ProgramStatus.ACTIVE,
    ),
    ProgramAction.PAUSE: (frozenset({ProgramStatus.ACTIVE}), ProgramStatus.PAUSED),
    ProgramAction.END: (
        frozenset({ProgramStatus.DRAFT, ProgramStatus.ACTIVE, ProgramStatus.PAUSED}),
        ProgramStatus.ENDED,
    ),
}
"""action → (the states it may start from, the state it leads to). Ended is final."""

COUPON_TRANSITIONS: dict[CouponAction, CouponStatus] = {
    CouponAction.VOID: CouponStatus.VOIDED,
    CouponAction.REPLACE: CouponStatus.REPLACED,
    CouponAction.EXPIRE: CouponStatus.EXPIRED,
}
"""Every coupon action starts from ``issued`` (outstanding); the other states are final."""

EDITABLE_FIELDS: dict[ProgramStatus, frozenset[str]] = {
    ProgramStatus.DRAFT: frozenset(
        {"name", "promo_type", "start_at", "end_at", "terms", "min_wager_cents", "max_uses"}
    ),
    ProgramStatus.ACTIVE: frozenset({"name", "end_at", "terms", "min_wager_cents", "max_uses"}),
    ProgramStatus.PAUSED: frozenset({"name", "end_at", "terms", "min_wager_cents", "max_uses"}),
    ProgramStatus.ENDED: frozenset(),
}
"""What an edit may change in each state: type and start are fixed once a program has run."""


def program_transition(current: ProgramStatus, action: ProgramAction) -> ProgramStatus:
    """The state ``action`` leads to from ``current``, or PROMO_PROGRAM_TRANSITION_INVALID."""
    sources, target = PROGRAM_TRANSITIONS[action]
    if current not in sources:
        raise DomainError(
            ErrorCode.PROMO_PROGRAM_TRANSITION_INVALID,
            f"A {current.value} program cannot be {_PAST[action]}"
            + (" (ended is final)." if current is ProgramStatus.ENDED else "."),
            status=current.value,
            action=action.value,
        )
    return target


_PAST = {
    ProgramAction.ACTIVATE: "activated",
    ProgramAction.PAUSE: "paused",
    ProgramAction.END: "ended",
    CouponAction.VOID: "voided",
    CouponAction.REPLACE: "replaced",
    CouponAction.EXPIRE: "expired",
}


def coupon_transition(current: CouponStatus, action: CouponAction) -> CouponStatus:
    """The state ``action`` leads to; only an outstanding (issued) coupon moves."""
    if current is not CouponStatus.ISSUED:
        raise DomainError(
            ErrorCode.PROMO_COUPON_STATE_INVALID,
            f"This coupon is {current.value}; only an outstanding (issued) coupon can be"
            f" {_PAST[action]}.",
            status=current.value,
            action=action.value,
        )
    return COUPON_TRANSITIONS[action]


def effective_status(stored: CouponStatus, expires_at: datetime, now: datetime) -> CouponStatus:
    """The status a reader sees: an issued coupon past its expiry is expired, job or no job."""
    if stored is CouponStatus.ISSUED and expires_at <= now:
        return CouponStatus.EXPIRED
    return stored


def check_window(start_at: datetime, end_at: datetime) -> None:
    if end_at <= start_at:
        raise DomainError(
            ErrorCode.PROMO_PROGRAM_WINDOW_INVALID,
            "end_at: the program's window must end after it starts.",
        )


def check_issuable(
    status: ProgramStatus, start_at: datetime, end_at: datetime, now: datetime
) -> None:
    """Coupons come only from an active program, inside its window [start_at, end_at)."""
    if status is not ProgramStatus.ACTIVE:
        raise DomainError(
            ErrorCode.PROMO_PROGRAM_NOT_ACTIVE,
            f"This program is {status.value}; coupons are issued from active programs only.",
            status=status.value,
        )
    if not start_at <= now < end_at:
        when = "has not started yet" if now < start_at else "has closed"
        raise DomainError(
            ErrorCode.PROMO_PROGRAM_OUTSIDE_WINDOW,
            f"This program's issuing window {when}.",
            start_at=start_at.isoformat(),
            end_at=end_at.isoformat(),
        )


def check_amounts(
    promo_type: PromoType,
    face_value_cents: int,
    required_match_wager_cents: int,
    *,
    exact_match: bool,
    min_wager_cents: int | None,
) -> None:
    """Face value and match wager against the type, the casino's match rule and the program."""
    if not 0 < face_value_cents <= MAX_COUPON_CENTS:
        raise DomainError(
            ErrorCode.PROMO_FACE_VALUE_INVALID,
            f"face_value_cents: a coupon is worth from 1 cent to {_dollars(MAX_COUPON_CENTS)}.",
        )
    wager = required_match_wager_cents
    if promo_type is not PromoType.MATCH_PLAY:
        if wager != 0:
            raise DomainError(
                ErrorCode.PROMO_MATCH_WAGER_INVALID,
                f"required_match_wager_cents: only match-play coupons carry a match wager;"
                f" a {promo_type.label.lower()} coupon takes 0.",
            )
        return
    if not 0 < wager <= MAX_COUPON_CENTS:
        raise DomainError(
            ErrorCode.PROMO_MATCH_WAGER_INVALID,
            "required_match_wager_cents: a match-play coupon needs a positive match wager"
            f" (at most {_dollars(MAX_COUPON_CENTS)}).",
        )
    if exact_match and wager != face_value_cents:
        raise DomainError(
            ErrorCode.PROMO_MATCH_WAGER_INVALID,
            f"required_match_wager_cents: this casino requires an exact match — the wager must"
            f" equal the face value, {_dollars(face_value_cents)}.",
        )
    if not exact_match and wager < face_value_cents:
        raise DomainError(
            ErrorCode.PROMO_MATCH_WAGER_INVALID,
            f"required_match_wager_cents: the match wager must be at least the face value,"
            f" {_dollars(face_value_cents)}.",
        )
    if min_wager_cents is not None and wager < min_wager_cents:
        raise DomainError(
            ErrorCode.PROMO_MATCH_WAGER_INVALID,
            f"required_match_wager_cents: this program's minimum wager is"
            f" {_dollars(min_wager_cents)}.",
        )


def at_risk_cents(promo_type: PromoType, required_match_wager_cents: int) -> int:
    """The patron's at-risk amount: the required match wager for match play, else 0."""
    return required_match_wager_cents if promo_type is PromoType.MATCH_PLAY else 0


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


# -- gaming days and shifts --------------------------------------------------------------


def _local_start(day: date, time_zone: str, day_start: time, hours: int) -> datetime:
    wall = datetime.combine(day, day_start) + timedelta(hours=hours)
    return wall.replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def gaming_day_window(day: date, time_zone: str, day_start: time) -> tuple[datetime, datetime]:
    """[start, end) of a gaming day in UTC (its boundaries are local wall-clock times)."""
    return (
        _local_start(day, time_zone, day_start, 0),
        _local_start(day + timedelta(days=1), time_zone, day_start, 0),
    )


def shift_window(
    day: date, shift: Shift, time_zone: str, day_start: time
) -> tuple[datetime, datetime]:
    """[start, end) of one shift of a gaming day; the grave shift ends at the next day's start."""
    start = _local_start(day, time_zone, day_start, SHIFT_HOURS * shift.ordinal)
    if shift is Shift.GRAVE:
        end = _local_start(day + timedelta(days=1), time_zone, day_start, 0)
    else:
        end = _local_start(day, time_zone, day_start, SHIFT_HOURS * (shift.ordinal + 1))
    return start, end


def shift_at(at: datetime, time_zone: str, day_start: time) -> tuple[date, Shift]:
    """The gaming day and shift that ``at`` falls in."""
    day = gaming_day(at, time_zone, day_start)
    for shift in (Shift.GRAVE, Shift.SWING):
        if at >= shift_window(day, shift, time_zone, day_start)[0]:
            return day, shift
    return day, Shift.DAY


# -- alerts ------------------------------------------------------------------------------


class AlertKind(StrEnum):
    ISSUANCE_SPIKE = "issuance_spike"
    VOID_REPLACE_RATE = "void_replace_rate"
    EXPIRING_SOON = "expiring_soon"


class PromoAlert(BaseModel):
    """One raised alert, ready to show: what, why, and the numbers behind it."""

    model_config = ConfigDict(frozen=True)

    kind: AlertKind
    message: str
    observed: Decimal
    threshold: Decimal


class SpikeCheck(BaseModel):
    """This shift's issuance against the same shift on the trailing gaming days."""

    model_config = ConfigDict(frozen=True)

    current: int
    history: list[int]
    """Coupons issued in the same shift on each gaming day of history, oldest first."""
    min_history_days: int
    k: Decimal
    median: Decimal | None
    mad: Decimal | None
    threshold: Decimal | None
    """median + k × MAD; None when there is too little history to judge."""
    evaluated: bool
    alert: bool


class RateCheck(BaseModel):
    """Voids and replacements made in the shift against coupons issued in it."""

    model_config = ConfigDict(frozen=True)

    issued: int
    voided: int
    replaced: int
    rate: Decimal | None
    """(voided + replaced) / issued; None when nothing was issued."""
    threshold: Decimal
    alert: bool


class ExpiryCheck(BaseModel):
    """Outstanding coupons whose expiry falls within the next ``hours``."""

    model_config = ConfigDict(frozen=True)

    hours: int
    count: int
    face_value_cents: int
    at_risk_cents: int
    alert: bool


def median(values: Sequence[int | Decimal]) -> Decimal:
    if not values:
        raise ValueError("median of nothing")
    ordered = sorted(Decimal(v) for v in values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def median_absolute_deviation(values: Sequence[int | Decimal]) -> Decimal:
    """MAD = median(|xᵢ − median(x)|), unscaled."""
    centre = median(values)
    return median([abs(Decimal(v) - centre) for v in values])


def assess_spike(
    current: int, history: Sequence[int], *, k: Decimal, min_history_days: int
) -> SpikeCheck:
    """Alert when ``current`` > median + k × MAD of ``history`` (strictly), given enough days."""
    if len(history) < min_history_days or not history:
        return SpikeCheck(
            current=current,
            history=list(history),
            min_history_days=min_history_days,
            k=k,
            median=None,
            mad=None,
            threshold=None,
            evaluated=False,
            alert=False,
        )
    centre = median(history)
    mad = median_absolute_deviation(history)
    threshold = centre + k * mad
    return SpikeCheck(
        current=current,
        history=list(history),
        min_history_days=min_history_days,
        k=k,
        median=centre,
        mad=mad,
        threshold=threshold,
        evaluated=True,
        alert=Decimal(current) > threshold,
    )


def assess_rate(issued: int, voided: int, replaced: int, *, threshold: Decimal) -> RateCheck:
    """Alert when (voided + replaced) / issued > threshold (strictly).

    Voids or replacements in a shift that issued nothing alert too: there is no issuance to
    measure them against, and a control lens should not stay quiet about them.
    """
    undone = voided + replaced
    rate = Decimal(undone) / Decimal(issued) if issued else None
    alert = rate > threshold if rate is not None else undone > 0
    return RateCheck(
        issued=issued,
        voided=voided,
        replaced=replaced,
        rate=rate,
        threshold=threshold,
        alert=alert,
    )


def assess_expiry(count: int, face_value_cents: int, at_risk: int, *, hours: int) -> ExpiryCheck:
    """Alert when any outstanding coupon expires within the horizon."""
    return ExpiryCheck(
        hours=hours,
        count=count,
        face_value_cents=face_value_cents,
        at_risk_cents=at_risk,
        alert=count > 0,
    )


def raised_alerts(spike: SpikeCheck, rate: RateCheck, expiry: ExpiryCheck) -> list[PromoAlert]:
    """The checks that fired, as messages a supervisor can act on."""
    alerts: list[PromoAlert] = []
    if spike.alert and spike.threshold is not None and spike.median is not None:
        alerts.append(
            PromoAlert(
                kind=AlertKind.ISSUANCE_SPIKE,
                message=(
                    f"High promo issuance: {spike.current} coupons this shift against a usual"
                    f" {_number(spike.median)} (alert above {_number(spike.threshold)})."
                ),
                observed=Decimal(spike.current),
                threshold=spike.threshold,
            )
        )
    if rate.alert:
        undone = rate.voided + rate.replaced
        if rate.rate is None:
            message = f"{undone} voids/replacements this shift and no coupons issued in it."
        else:
            message = (
                f"Voids and replacements are {_percent(rate.rate)} of coupons issued this"
                f" shift ({undone} of {rate.issued}); the limit is {_percent(rate.threshold)}."
            )
        alerts.append(
            PromoAlert(
                kind=AlertKind.VOID_REPLACE_RATE,
                message=message,
                observed=rate.rate if rate.rate is not None else Decimal(undone),
                threshold=rate.threshold,
            )
        )
    if expiry.alert:
        alerts.append(
            PromoAlert(
                kind=AlertKind.EXPIRING_SOON,
                message=(
                    f"{expiry.count} outstanding coupon{'s' if expiry.count != 1 else ''}"
                    f" ({_dollars(expiry.face_value_cents)} face) expire within"
                    f" {expiry.hours} hours."
                ),
                observed=Decimal(expiry.count),
                threshold=Decimal(0),
            )
        )
    return alerts


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.1'))}%"


__all__ = [
    "COUPON_TRANSITIONS",
    "EDITABLE_FIELDS",
    "MAX_COUPON_CENTS",
    "PROGRAM_TRANSITIONS",
    "SHIFT_HOURS",
    "SPIKE_HISTORY_DAYS",
    "AlertKind",
    "CouponAction",
    "CouponStatus",
    "ExpiryCheck",
    "ProgramAction",
    "ProgramStatus",
    "PromoAlert",
    "PromoType",
    "RateCheck",
    "Shift",
    "SpikeCheck",
    "assess_expiry",
    "assess_rate",
    "assess_spike",
    "at_risk_cents",
    "check_amounts",
    "check_issuable",
    "check_window",
    "coupon_transition",
    "effective_status",
    "gaming_day_window",
    "median",
    "median_absolute_deviation",
    "program_transition",
    "raised_alerts",
    "shift_at",
    "shift_window",
]
