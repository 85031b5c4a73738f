"""The promo lens: exposure rollups (SQL) against a plain recomputation, and the alerts.

The property test generates a history of issue, void, replace and expiry-job events at
moving times and checks every gaming day and shift it touched, at the end and half way,
against the definitions in pitterm.domain.promo_rules recomputed in Python.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pitterm.domain import promo
from pitterm.domain.actor import Actor
from pitterm.domain.casinos import NewCasino, NewStaff, bootstrap_admin, create_casino
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.gaming_day import gaming_day
from pitterm.domain.promo_rules import (
    AlertKind,
    CouponStatus,
    PromoType,
    Shift,
    gaming_day_window,
    shift_at,
    shift_window,
)
from tests.conftest import FROZEN_NOW
from tests.factories import CasinoWorld, build_casino, signed_in
from tests.promo_support import issue, new_program, replace, set_settings, void

TZ = "America/Los_Angeles"
DAY_START = datetime(2000, 1, 1, 6, 0).time()


def use_clock(database: Database, at: datetime) -> FixedClock:
    clock = FixedClock(at)
    database.clock = clock
    return clock


# --- the model --------------------------------------------------------------------------


@dataclass
class Model:
    """A coupon as the test knows it, independently of the database."""

    id: uuid.UUID
    promo_type: PromoType
    face: int
    wager: int
    issued_at: datetime
    expires_at: datetime
    voided_at: datetime | None = None
    replaced_at: datetime | None = None

    def outstanding(self, at: datetime) -> bool:
        return (
            self.issued_at <= at
            and (self.voided_at is None or self.voided_at > at)
            and (self.replaced_at is None or self.replaced_at > at)
            and self.expires_at > at
        )

    @property
    def at_risk(self) -> int:
        return self.wager if self.promo_type is PromoType.MATCH_PLAY else 0


def recompute(
    coupons: list[Model], start: datetime, end: datetime, at: datetime
) -> dict[PromoType | None, dict[str, int]]:
    """The rollup by its definition, one coupon at a time."""

    def inside(t: datetime | None) -> bool:
        return t is not None and start <= t < end and t <= at

    out: dict[PromoType | None, dict[str, int]] = {}
    for bucket in [*PromoType, None]:
        mine = [c for c in coupons if bucket is None or c.promo_type is bucket]
        mine = [c for c in mine if c.issued_at <= at]
        untouched = [c for c in mine if c.voided_at is None and c.replaced_at is None]
        outstanding = [c for c in mine if c.outstanding(at)]
        issued_in = [c for c in mine if inside(c.issued_at)]
        out[bucket] = {
            "w.issued_count": len(issued_in),
            "w.face_value_cents": sum(c.face for c in issued_in),
            "w.at_risk_cents": sum(c.at_risk for c in issued_in),
            "w.voided_count": sum(inside(c.voided_at) for c in mine),
            "w.replaced_count": sum(inside(c.replaced_at) for c in mine),
            "w.expired_count": sum(inside(c.expires_at) for c in untouched),
            "o.issued_count": len(mine),
            "o.voided_count": sum(c.voided_at is not None and c.voided_at <= at for c in mine),
            "o.expired_count": sum(c.expires_at <= at for c in untouched),
            "o.replaced_count": sum(
                c.replaced_at is not None and c.replaced_at <= at for c in mine
            ),
            "o.outstanding_count": len(outstanding),
            "o.face_value_cents": sum(c.face for c in outstanding),
            "o.at_risk_cents": sum(c.at_risk for c in outstanding),
        }
    return out


def flatten(rollup: promo.ExposureRollup) -> dict[PromoType | None, dict[str, int]]:
    rows = [*rollup.by_type, rollup.total]
    return {
        row.promo_type: {
            **{f"w.{k}": v for k, v in row.window.model_dump().items()},
            **{f"o.{k}": v for k, v in row.outstanding.model_dump().items()},
        }
        for row in rows
    }


# --- a worked example -------------------------------------------------------------------


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def test_exposure_worked_example(backend: Database, world: CasinoWorld) -> None:
    admin = world.admin
    clock = backend.clock
    assert isinstance(clock, FixedClock)
    match = new_program(backend, admin)
    free_bet = new_program(backend, admin, PromoType.FREE_BET)
    now = clock.now()
    a = issue(backend, admin, match.id, 2500, 5000)
    issue(backend, admin, match.id, 1000, 1000, expires_at=now + timedelta(minutes=30))  # b
    c = issue(backend, admin, free_bet.id, 500, match=False)
    d = issue(backend, admin, free_bet.id, 700, match=False)
    clock.advance(timedelta(minutes=40))  # b expires
    void(backend, admin, c.id)
    replace(backend, admin, a.id)  # a's replacement: another $25 / $50 coupon
    lens = promo.shift_lens(backend.reader(admin), admin)
    assert lens.shift.shift is Shift.DAY and lens.day.shift is None
    mp, nn, fb, other = lens.shift.by_type
    assert (mp.promo_type, fb.promo_type) == (PromoType.MATCH_PLAY, PromoType.FREE_BET)
    assert mp.window.model_dump() == {
        "issued_count": 3,
        "face_value_cents": 6000,
        "at_risk_cents": 11_000,
        "voided_count": 0,
        "replaced_count": 1,
        "expired_count": 1,
    }
    assert mp.outstanding.model_dump() == {
        "issued_count": 3,
        "voided_count": 0,
        "expired_count": 1,
        "replaced_count": 1,
        "outstanding_count": 1,
        "face_value_cents": 2500,
        "at_risk_cents": 5000,
    }
    assert fb.window.voided_count == 1 and fb.outstanding.outstanding_count == 1
    assert fb.outstanding.face_value_cents == 700 and fb.outstanding.at_risk_cents == 0
    assert nn.window.issued_count == other.window.issued_count == 0
    total = lens.shift.total.outstanding
    assert total.outstanding_count == total.issued_count - (
        total.voided_count + total.expired_count + total.replaced_count
    )
    assert (total.issued_count, total.outstanding_count) == (5, 2)
    assert lens.day.total == lens.shift.total  # everything happened this shift
    # Point in time: before anything was undone, all four were outstanding.
    earlier = promo.exposure(backend.reader(admin), admin, as_of=now)
    assert earlier.total.outstanding.outstanding_count == 4
    assert earlier.total.outstanding.face_value_cents == 2500 + 1000 + 500 + 700
    # Outstanding is point-in-time, not windowed: tomorrow's day shift still carries d.
    tomorrow = promo.exposure(
        backend.reader(admin),
        admin,
        gaming_day=lens.day.gaming_day + timedelta(days=1),
        shift=Shift.DAY,
    )
    assert tomorrow.total.window.issued_count == 0
    assert tomorrow.total.outstanding.outstanding_count == 2
    assert d.id in {r.id for r in promo.inventory(backend.reader(admin), admin).rows}
    with pytest.raises(DomainError) as raised:
        promo.exposure(backend.reader(admin), admin, as_of=clock.now() + timedelta(seconds=1))
    assert raised.value.code is ErrorCode.VALIDATION_FAILED


# --- the property -----------------------------------------------------------------------

_casino_numbers = itertools.count(1)

issue_event = st.tuples(
    st.just("issue"),
    st.sampled_from(list(PromoType)),
    st.integers(1, 50_000),
    st.integers(0, 5_000),
    st.none() | st.integers(1, 30),
)
void_event = st.tuples(st.just("void"), st.integers(0, 1_000))
replace_event = st.tuples(st.just("replace"), st.integers(0, 1_000), st.none() | st.integers(1, 30))
job_event = st.tuples(st.just("expire_job"))
events = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 30, 120, 300, 720]),
        st.one_of(issue_event, issue_event, void_event, replace_event, job_event),
    ),
    min_size=1,
    max_size=14,
)


def fresh_admin(database: Database) -> Actor:
    code = f"H{next(_casino_numbers)}"
    casino = create_casino(database.uow(), NewCasino(code=code, name=f"Hypothesis {code}"))
    bootstrap_admin(
        database.uow(),
        casino.id,
        NewStaff(code="ADM1", name="Ada Admin", role=StaffRole.ADMIN, pin="1000"),
    )
    return signed_in(database, casino, "ADM1", "1000")


def apply(database: Database, admin: Actor, clock: FixedClock, history: list[Any]) -> list[Model]:
    programs = {t: new_program(database, admin, t, length=timedelta(days=30)) for t in PromoType}
    coupons: list[Model] = []
    for minutes, event in history:
        clock.advance(timedelta(minutes=minutes))
        now = clock.now()
        kind = event[0]
        if kind == "issue":
            _, promo_type, face, extra, hours = event
            wager = face + extra if promo_type is PromoType.MATCH_PLAY else 0
            expires = now + timedelta(hours=hours) if hours else None
            view = issue(
                database,
                admin,
                programs[promo_type].id,
                face,
                wager,
                **({"expires_at": expires} if expires else {}),
            )
            coupons.append(
                Model(view.id, promo_type, face, wager, now, expires or programs[promo_type].end_at)
            )
        elif kind == "expire_job":
            run = promo.expire_due(database.uow(admin), admin)
            assert set(run.coupon_ids) <= {c.id for c in coupons if c.expires_at <= now}
        elif coupons:
            target = coupons[event[1] % len(coupons)]
            if not target.outstanding(now):
                with pytest.raises(DomainError) as raised:
                    (void if kind == "void" else replace)(database, admin, target.id)
                assert raised.value.code is ErrorCode.PROMO_COUPON_STATE_INVALID
            elif kind == "void":
                void(database, admin, target.id)
                target.voided_at = now
            else:
                hours = event[2]
                expires = now + timedelta(hours=hours) if hours else target.expires_at
                result = replace(
                    database, admin, target.id, **({"expires_at": expires} if hours else {})
                )
                target.replaced_at = now
                coupons.append(
                    Model(
                        result.replacement.id,
                        target.promo_type,
                        target.face,
                        target.wager,
                        now,
                        expires,
                    )
                )
    return coupons


@settings(
    max_examples=20,
    deadline=None,
    # Each step runs real transactions: shrinking a failure would take minutes, so a failing
    # history is reported as generated.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=events)
def test_rollup_matches_a_straightforward_recomputation(
    backend: Database, history: list[Any]
) -> None:
    clock = backend.clock
    assert isinstance(clock, FixedClock)
    admin = fresh_admin(backend)
    began = clock.now()
    coupons = apply(backend, admin, clock, history)
    end = clock.now()
    first_day = gaming_day(began, TZ, DAY_START)
    last_day = gaming_day(end, TZ, DAY_START)
    checks: list[tuple[date, Shift | None, datetime]] = []
    day = first_day
    while day <= last_day:
        checks.append((day, None, end))
        day += timedelta(days=1)
    checks += [(last_day, s, end) for s in Shift]
    # Every instant something happened is an as_of: boundaries (≤ versus <) show there.
    instants = {began + (end - began) / 2}
    for c in coupons:
        events_of_c = (c.issued_at, c.voided_at, c.replaced_at, c.expires_at)
        instants |= {t for t in events_of_c if t and t <= end}
    for at in sorted(instants):
        checks.append((*shift_at(at, TZ, DAY_START), at))
    for day, shift, at in checks:
        rollup = promo.exposure(backend.reader(admin), admin, gaming_day=day, shift=shift, as_of=at)
        start, stop = (
            gaming_day_window(day, TZ, DAY_START)
            if shift is None
            else shift_window(day, shift, TZ, DAY_START)
        )
        assert (rollup.window_start, rollup.window_end) == (start, stop)
        assert flatten(rollup) == recompute(coupons, start, stop, at), (day, shift, at)
        o = rollup.total.outstanding
        assert o.outstanding_count == o.issued_count - (
            o.voided_count + o.expired_count + o.replaced_count
        )
    outstanding = promo.inventory(
        backend.reader(admin), admin, promo.CouponFilter(status=CouponStatus.ISSUED), limit=500
    )
    assert {c.id for c in outstanding.rows} == {c.id for c in coupons if c.outstanding(end)}


# --- alerts -----------------------------------------------------------------------------


def test_alerts_at_their_boundaries(backend: Database, world: CasinoWorld) -> None:
    admin = world.admin
    clock = use_clock(backend, FROZEN_NOW - timedelta(days=6))
    program = new_program(backend, admin, length=timedelta(days=30))
    # Day shift (noon, Las Vegas) on each of the five previous gaming days.
    for days_ago, count in zip(range(5, 0, -1), [2, 4, 3, 5, 3], strict=True):
        clock = use_clock(backend, FROZEN_NOW - timedelta(days=days_ago))
        for _ in range(count):
            issue(backend, admin, program.id)
    clock = use_clock(backend, FROZEN_NOW)
    quiet = promo.alerts(backend.reader(admin), admin)
    assert quiet.shift is Shift.DAY and quiet.alerts == []
    assert quiet.spike.history == [2, 4, 3, 5, 3] and quiet.spike.evaluated
    assert (quiet.spike.median, quiet.spike.mad, quiet.spike.threshold) == (3, 1, 6)
    assert quiet.rate.rate is None and not quiet.rate.alert
    for _ in range(6):
        issue(backend, admin, program.id)
    at_threshold = promo.alerts(backend.reader(admin), admin)
    assert at_threshold.spike.current == 6 and not at_threshold.spike.alert
    issue(backend, admin, program.id)
    spiking = promo.alerts(backend.reader(admin), admin)
    assert [a.kind for a in spiking.alerts] == [AlertKind.ISSUANCE_SPIKE]
    assert spiking.alerts[0].observed == 7 and spiking.alerts[0].threshold == 6
    # Six days of history required: five is not enough to judge.
    set_settings(backend, world.casino.id, promo_spike_min_history_days=6)
    assert not promo.alerts(backend.reader(admin), admin).spike.evaluated

    # Voids + replacements against issuance this shift: 1 of 8 is 12.5%.
    first = promo.inventory(backend.reader(admin), admin, limit=1).rows[0]
    replace(backend, admin, first.id)
    set_settings(backend, world.casino.id, promo_void_rate_alert=Decimal("0.125"))
    rate = promo.alerts(backend.reader(admin), admin).rate
    assert (rate.issued, rate.replaced, rate.rate, rate.alert) == (8, 1, Decimal("0.125"), False)
    set_settings(backend, world.casino.id, promo_void_rate_alert=Decimal("0.124"))
    assert [a.kind for a in promo.alerts(backend.reader(admin), admin).alerts] == [
        AlertKind.VOID_REPLACE_RATE
    ]
    set_settings(backend, world.casino.id, promo_void_rate_alert=Decimal("0.5"))

    # Expiring within 24 hours: inclusive at the horizon, and only outstanding coupons.
    now = clock.now()
    edge = issue(backend, admin, program.id, expires_at=now + timedelta(hours=24))
    issue(backend, admin, program.id, expires_at=now + timedelta(hours=24, seconds=1))
    gone = issue(backend, admin, program.id, 900, expires_at=now + timedelta(hours=1))
    void(backend, admin, gone.id)
    expiry = promo.alerts(backend.reader(admin), admin).expiry
    assert (expiry.count, expiry.face_value_cents, expiry.alert) == (1, 2500, True)
    clock.advance(timedelta(hours=24))  # the edge coupon expires now: nothing outstanding left
    later = promo.alerts(backend.reader(admin), admin)
    assert later.expiry.count == 1  # the +1 s coupon is now inside the horizon
    assert edge.id not in {
        c.id
        for c in promo.inventory(
            backend.reader(admin), admin, promo.CouponFilter(status=CouponStatus.ISSUED)
        ).rows
    }
