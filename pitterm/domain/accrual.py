"""Base accrual (seed 003 path 1, DESIGN §5): a pure function of a slip's frozen policy.

Everything is exact: durations are integer seconds and the hour division happens once, at
the end, in Decimal — a pre-divided hour fraction loses points (400 s at $100, 1.5 %,
72/h must give theo 12.00 and 120 points, not 119).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from pitterm.domain.enums import Rounding

SECONDS_PER_HOUR = 3600
CENTS = Decimal("0.01")
POLICY_VERSION = "loyalty_points_v1"


class PolicySnapshot(BaseModel):
    """The game settings frozen onto a slip when it starts."""

    model_config = ConfigDict(frozen=True)

    house_edge: Decimal = Field(ge=0, le=100, description="percent: 1.5 means 1.5%")
    decisions_per_hour: int = Field(ge=0)
    points_conversion_rate: Decimal = Field(ge=0)
    rounding: Rounding = Rounding.HALF_UP
    policy_version: str = POLICY_VERSION


class Accrual(BaseModel):
    model_config = ConfigDict(frozen=True)

    theo: Decimal
    """Theoretical win in dollars, exact (not rounded)."""
    points: int


THEO_PLACES = Decimal("0.000001")
"""Theo is stored to a millionth of a dollar on both backends; points never use it."""


def exact_theo(average_bet_cents: int, played_seconds: int, policy: PolicySnapshot) -> Fraction:
    """average_bet × house_edge/100 × decisions_per_hour × played_hours, as an exact rational."""
    if average_bet_cents <= 0 or played_seconds <= 0:
        return Fraction(0)
    per_second, scale, _ = _rates(
        policy.house_edge, policy.decisions_per_hour, policy.points_conversion_rate
    )
    return Fraction(average_bet_cents * per_second * played_seconds, scale)


@lru_cache(maxsize=256)
def _rates(
    house_edge: Decimal, decisions_per_hour: int, points_conversion_rate: Decimal
) -> tuple[int, int, Fraction]:
    """A policy's figures as integers and a rational, worked out once per policy.

    Theo in dollars is bet_cents × per_second × seconds / scale (house_edge as the exact
    fraction n/d: per_second = n × decisions_per_hour, scale = d × 100 × 100 × 3600), one
    exact Fraction instead of four Fraction products; the floor accrues every running slip
    once a second.
    """
    edge = Fraction(house_edge)
    return (
        edge.numerator * decisions_per_hour,
        edge.denominator * 100 * 100 * SECONDS_PER_HOUR,
        Fraction(points_conversion_rate),
    )


def theo(average_bet_cents: int, played_seconds: int, policy: PolicySnapshot) -> Decimal:
    """Theo in dollars to a millionth (half up): what is stored and shown."""
    return _stored_theo(exact_theo(average_bet_cents, played_seconds, policy))


def _stored_theo(value: Fraction) -> Decimal:
    """An exact theo rounded half up to a millionth of a dollar."""
    rounded = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        THEO_PLACES, rounding=ROUND_HALF_UP
    )
    return Decimal(format(rounded.normalize(), "f"))  # "210", never "2.1E+2"


def round_points(value: Fraction, rounding: Rounding) -> int:
    """Round an exact rational: half up adds a half then floors; floor floors. Never negative."""
    if rounding is Rounding.HALF_UP:
        return max(0, math.floor(value + Fraction(1, 2)))
    return max(0, math.floor(value))


def accrue(average_bet_cents: int, played_seconds: int, policy: PolicySnapshot) -> Accrual:
    """Theo and points for a slip; zero duration or zero bet gives 0 points, still a result.

    Points come from the exact rational theo × rate, so no intermediate rounding (28-digit
    decimals, a pre-divided hour) can tip a result across a rounding boundary.
    """
    exact = exact_theo(average_bet_cents, played_seconds, policy)
    _, _, rate = _rates(policy.house_edge, policy.decisions_per_hour, policy.points_conversion_rate)
    points = round_points(exact * rate, policy.rounding)
    # theo() of the same inputs, from the exact value already at hand (the floor accrues
    # every running slip once a second).
    return Accrual(theo=_stored_theo(exact), points=points)


def theo_display(value: Decimal) -> Decimal:
    """Theo as money, to the cent (for screens and metadata; points use the exact value)."""
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def played_seconds(
    started_at: datetime,
    ended_at: datetime,
    pauses: list[tuple[datetime, datetime | None]],
) -> int:
    """Whole seconds of play: ended − started − time paused (an open pause ends at ``ended_at``)."""
    paused = sum(
        (
            min(resumed or ended_at, ended_at) - max(paused_at, started_at)
            for paused_at, resumed in pauses
        ),
        start=timedelta(0),
    )
    played = ended_at - started_at - paused
    return max(0, played // timedelta(seconds=1))
