"""Promo rules without a database: transitions, match wagers, shifts, and alert boundaries."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.promo_rules import (
    AlertKind,
    CouponAction,
    CouponStatus,
    ProgramAction,
    ProgramStatus,
    PromoType,
    Shift,
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
    median,
    median_absolute_deviation,
    program_transition,
    raised_alerts,
    shift_at,
    shift_window,
)

LV = "America/Los_Angeles"
SIX = time(6, 0)
T0 = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)


def code_of(call: object, *args: object, **kwargs: object) -> ErrorCode:
    assert callable(call)
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    return raised.value.code


class TestProgramTransitions:
    LEGAL = {
        (ProgramStatus.DRAFT, ProgramAction.ACTIVATE): ProgramStatus.ACTIVE,
        (ProgramStatus.PAUSED, ProgramAction.ACTIVATE): ProgramStatus.ACTIVE,
        (ProgramStatus.ACTIVE, ProgramAction.PAUSE): ProgramStatus.PAUSED,
        (ProgramStatus.DRAFT, ProgramAction.END): ProgramStatus.ENDED,
        (ProgramStatus.ACTIVE, ProgramAction.END): ProgramStatus.ENDED,
        (ProgramStatus.PAUSED, ProgramAction.END): ProgramStatus.ENDED,
    }

    @pytest.mark.parametrize("status", list(ProgramStatus))
    @pytest.mark.parametrize("action", list(ProgramAction))
    def test_every_pair_is_legal_or_refused(
        self, status: ProgramStatus, action: ProgramAction
    ) -> None:
        expected = self.LEGAL.get((status, action))
        if expected is None:
            assert (
                code_of(program_transition, status, action)
                is ErrorCode.PROMO_PROGRAM_TRANSITION_INVALID
            )
        else:
            assert program_transition(status, action) is expected


class TestCouponTransitions:
    @pytest.mark.parametrize("action", list(CouponAction))
    def test_only_issued_coupons_move(self, action: CouponAction) -> None:
        expected = {
            CouponAction.VOID: CouponStatus.VOIDED,
            CouponAction.REPLACE: CouponStatus.REPLACED,
            CouponAction.EXPIRE: CouponStatus.EXPIRED,
        }
        assert coupon_transition(CouponStatus.ISSUED, action) is expected[action]
        for status in (CouponStatus.VOIDED, CouponStatus.EXPIRED, CouponStatus.REPLACED):
            assert (
                code_of(coupon_transition, status, action) is ErrorCode.PROMO_COUPON_STATE_INVALID
            )

    def test_effective_status_expires_on_read_at_the_instant(self) -> None:
        assert effective_status(CouponStatus.ISSUED, T0, T0 - timedelta(microseconds=1)) is (
            CouponStatus.ISSUED
        )
        assert effective_status(CouponStatus.ISSUED, T0, T0) is CouponStatus.EXPIRED
        assert effective_status(CouponStatus.VOIDED, T0, T0 + timedelta(days=9)) is (
            CouponStatus.VOIDED
        )


class TestWindowsAndIssuance:
    def test_window_must_be_ordered(self) -> None:
        assert code_of(check_window, T0, T0) is ErrorCode.PROMO_PROGRAM_WINDOW_INVALID
        check_window(T0, T0 + timedelta(seconds=1))

    def test_issuable_only_active_and_inside_half_open_window(self) -> None:
        start, end = T0, T0 + timedelta(days=1)
        check_issuable(ProgramStatus.ACTIVE, start, end, start)
        for status in (ProgramStatus.DRAFT, ProgramStatus.PAUSED, ProgramStatus.ENDED):
            assert code_of(check_issuable, status, start, end, start) is (
                ErrorCode.PROMO_PROGRAM_NOT_ACTIVE
            )
        for at in (start - timedelta(seconds=1), end):
            assert code_of(check_issuable, ProgramStatus.ACTIVE, start, end, at) is (
                ErrorCode.PROMO_PROGRAM_OUTSIDE_WINDOW
            )


class TestAmounts:
    def amounts(self, promo_type: PromoType, face: int, wager: int, **kw: object) -> None:
        check_amounts(
            promo_type,
            face,
            wager,
            exact_match=bool(kw.get("exact", False)),
            min_wager_cents=kw.get("min_wager"),  # type: ignore[arg-type]
        )

    def test_face_value_must_be_positive_and_sane(self) -> None:
        for face in (0, -100, 10_000_001):
            with pytest.raises(DomainError) as raised:
                self.amounts(PromoType.FREE_BET, face, 0)
            assert raised.value.code is ErrorCode.PROMO_FACE_VALUE_INVALID
        self.amounts(PromoType.FREE_BET, 1, 0)

    def test_at_least_match_is_the_default(self) -> None:
        self.amounts(PromoType.MATCH_PLAY, 2500, 2500)
        self.amounts(PromoType.MATCH_PLAY, 2500, 5000)
        for wager in (0, -1, 2499):
            with pytest.raises(DomainError) as raised:
                self.amounts(PromoType.MATCH_PLAY, 2500, wager)
            assert raised.value.code is ErrorCode.PROMO_MATCH_WAGER_INVALID

    def test_exact_match_when_the_casino_requires_it(self) -> None:
        self.amounts(PromoType.MATCH_PLAY, 2500, 2500, exact=True)
        for wager in (2499, 2501):
            with pytest.raises(DomainError, match="exact match") as raised:
                self.amounts(PromoType.MATCH_PLAY, 2500, wager, exact=True)
            assert raised.value.code is ErrorCode.PROMO_MATCH_WAGER_INVALID

    def test_program_minimum_wager(self) -> None:
        self.amounts(PromoType.MATCH_PLAY, 1000, 2500, min_wager=2500)
        with pytest.raises(DomainError, match="minimum wager"):
            self.amounts(PromoType.MATCH_PLAY, 1000, 2499, min_wager=2500)

    def test_other_types_carry_no_match_wager(self) -> None:
        for promo_type in (PromoType.NONNEGOTIABLE, PromoType.FREE_BET, PromoType.OTHER):
            self.amounts(promo_type, 2500, 0)
            with pytest.raises(DomainError) as raised:
                self.amounts(promo_type, 2500, 2500)
            assert raised.value.code is ErrorCode.PROMO_MATCH_WAGER_INVALID
            assert at_risk_cents(promo_type, 2500) == 0
        assert at_risk_cents(PromoType.MATCH_PLAY, 2500) == 2500


class TestShifts:
    def test_three_eight_hour_shifts_from_the_day_start(self) -> None:
        day = date(2026, 11, 21)
        start, end = gaming_day_window(day, LV, SIX)
        bounds = [shift_window(day, s, LV, SIX) for s in Shift]
        assert bounds[0][0] == start and bounds[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        assert [e - s for s, e in bounds] == [timedelta(hours=8)] * 3
        assert start == datetime(2026, 11, 21, 14, 0, tzinfo=UTC)  # 06:00 PST

    def test_shift_at_boundaries(self) -> None:
        day = date(2026, 11, 21)
        for shift in Shift:
            s, e = shift_window(day, shift, LV, SIX)
            assert shift_at(s, LV, SIX) == (day, shift)
            assert shift_at(e - timedelta(microseconds=1), LV, SIX) == (day, shift)
        grave_end = shift_window(day, Shift.GRAVE, LV, SIX)[1]
        assert shift_at(grave_end, LV, SIX) == (day + timedelta(days=1), Shift.DAY)

    def test_grave_shift_absorbs_the_daylight_saving_hour(self) -> None:
        fall_back = date(2026, 10, 31)  # clocks go back at 02:00 on 1 November
        s, e = shift_window(fall_back, Shift.GRAVE, LV, SIX)
        assert e - s == timedelta(hours=9)
        s, e = gaming_day_window(fall_back, LV, SIX)
        assert e - s == timedelta(hours=25)


class TestSpike:
    K = Decimal(3)

    def test_needs_the_minimum_history(self) -> None:
        check = assess_spike(500, [1, 1], k=self.K, min_history_days=3)
        assert not check.evaluated and not check.alert and check.threshold is None
        assert assess_spike(500, [], k=self.K, min_history_days=1).evaluated is False
        assert assess_spike(500, [1, 1, 1], k=self.K, min_history_days=3).alert

    def test_strictly_above_median_plus_k_mad(self) -> None:
        history = [10, 12, 8, 11, 9, 30, 10]  # median 10, |dev| 0 2 2 1 1 20 0 → MAD 1
        assert median(history) == 10
        assert median_absolute_deviation(history) == 1
        at = assess_spike(13, history, k=self.K, min_history_days=3)
        assert at.threshold == 13 and not at.alert
        above = assess_spike(14, history, k=self.K, min_history_days=3)
        assert above.alert

    def test_even_history_median_is_the_mean_of_the_middle_pair(self) -> None:
        check = assess_spike(6, [2, 4, 6, 8], k=Decimal(0), min_history_days=3)
        assert check.median == 5 and check.threshold == 5 and check.alert

    def test_flat_history_alerts_on_any_rise(self) -> None:
        assert not assess_spike(4, [4, 4, 4], k=self.K, min_history_days=3).alert
        assert assess_spike(5, [4, 4, 4], k=self.K, min_history_days=3).alert


class TestRate:
    T = Decimal("0.05")

    def test_exactly_the_threshold_does_not_alert(self) -> None:
        assert not assess_rate(100, 3, 2, threshold=self.T).alert
        assert assess_rate(100, 3, 3, threshold=self.T).alert
        assert assess_rate(100, 3, 3, threshold=self.T).rate == Decimal("0.06")

    def test_voids_without_issuance_alert(self) -> None:
        quiet = assess_rate(0, 0, 0, threshold=self.T)
        assert quiet.rate is None and not quiet.alert
        loud = assess_rate(0, 1, 0, threshold=self.T)
        assert loud.rate is None and loud.alert


class TestRaisedAlerts:
    def test_messages_for_each_kind(self) -> None:
        spike = assess_spike(20, [3, 4, 5], k=Decimal(3), min_history_days=3)
        rate = assess_rate(10, 1, 1, threshold=Decimal("0.05"))
        expiry = assess_expiry(2, 5000, 5000, hours=24)
        alerts = raised_alerts(spike, rate, expiry)
        assert [a.kind for a in alerts] == [
            AlertKind.ISSUANCE_SPIKE,
            AlertKind.VOID_REPLACE_RATE,
            AlertKind.EXPIRING_SOON,
        ]
        assert "20 coupons this shift" in alerts[0].message
        assert "20.0%" in alerts[1].message and "5.0%" in alerts[1].message
        assert "2 outstanding coupons ($50.00 face) expire within 24 hours" in alerts[2].message

    def test_nothing_fires_when_all_is_quiet(self) -> None:
        spike = assess_spike(1, [3, 4, 5], k=Decimal(3), min_history_days=3)
        rate = assess_rate(10, 0, 0, threshold=Decimal("0.05"))
        expiry = assess_expiry(0, 0, 0, hours=24)
        assert raised_alerts(spike, rate, expiry) == []
