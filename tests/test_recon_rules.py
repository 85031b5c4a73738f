"""Tier reconciliation's pure policy (DESIGN §9): freshness, proposal, conflicts, apply gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitterm.domain.enums import Tier
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.recon_rules import (
    DEFAULT_FRESHNESS_DAYS,
    Conflict,
    Decision,
    Freshness,
    LabelState,
    ReconOutcome,
    ReconStatus,
    conflicts,
    decide,
    freshness,
    needs_confirmation,
    propose,
    stale_cutoff,
)

NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


class TestFreshness:
    def test_the_default_threshold_is_90_days(self) -> None:
        assert DEFAULT_FRESHNESS_DAYS == 90

    def test_no_date_is_unknown(self) -> None:
        assert freshness(None, NOW, 90) is Freshness.UNKNOWN

    def test_exactly_90_days_ago_is_still_fresh(self) -> None:
        assert freshness(NOW - timedelta(days=90), NOW, 90) is Freshness.FRESH

    def test_one_microsecond_past_90_days_is_stale(self) -> None:
        assert freshness(NOW - timedelta(days=90) - TICK, NOW, 90) is Freshness.STALE

    def test_one_microsecond_inside_90_days_is_fresh(self) -> None:
        assert freshness(NOW - timedelta(days=90) + TICK, NOW, 90) is Freshness.FRESH

    def test_89_and_91_days(self) -> None:
        assert freshness(NOW - timedelta(days=89), NOW, 90) is Freshness.FRESH
        assert freshness(NOW - timedelta(days=91), NOW, 90) is Freshness.STALE

    def test_activity_right_now_is_fresh(self) -> None:
        assert freshness(NOW, NOW, 90) is Freshness.FRESH

    def test_the_casino_threshold_moves_the_boundary(self) -> None:
        ten_days = NOW - timedelta(days=10)
        assert freshness(ten_days, NOW, 10) is Freshness.FRESH
        assert freshness(ten_days - TICK, NOW, 10) is Freshness.STALE
        assert freshness(ten_days, NOW, 9) is Freshness.STALE
        assert freshness(NOW - timedelta(days=1), NOW, 1) is Freshness.FRESH

    def test_a_boundary_across_a_daylight_saving_change_is_still_exact_hours(self) -> None:
        # 90 days are 90 × 24 hours of elapsed time, whatever the casino's clocks did.
        local_midnight_utc = datetime(2026, 8, 1, 7, 0, tzinfo=UTC)  # PDT midnight
        now = local_midnight_utc + timedelta(days=90)
        assert freshness(local_midnight_utc, now, 90) is Freshness.FRESH
        assert freshness(local_midnight_utc, now + TICK, 90) is Freshness.STALE

    def test_cutoff_is_the_oldest_fresh_instant(self) -> None:
        cutoff = stale_cutoff(NOW, 90)
        assert freshness(cutoff, NOW, 90) is Freshness.FRESH
        assert freshness(cutoff - TICK, NOW, 90) is Freshness.STALE

    def test_a_threshold_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="positive"):
            stale_cutoff(NOW, 0)

    @given(
        age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1000)),
        days=st.integers(min_value=1, max_value=3650),
    )
    def test_stale_exactly_when_older_than_the_threshold(self, age: timedelta, days: int) -> None:
        expected = Freshness.STALE if age > timedelta(days=days) else Freshness.FRESH
        assert freshness(NOW - age, NOW, days) is expected


class TestProposal:
    @pytest.mark.parametrize(
        ("mapped", "canonical", "expected"),
        [
            (Tier.GOLD, Tier.SILVER, ReconOutcome.UPGRADE),
            (Tier.DIAMOND, Tier.BRONZE, ReconOutcome.UPGRADE),
            (Tier.GOLD, Tier.GOLD, ReconOutcome.NO_CHANGE),
            (Tier.SILVER, Tier.PLATINUM, ReconOutcome.DOWNGRADE),
            (Tier.BRONZE, Tier.SILVER, ReconOutcome.DOWNGRADE),
            (Tier.BRONZE, None, ReconOutcome.SEED),
            (Tier.DIAMOND, None, ReconOutcome.SEED),
        ],
    )
    def test_mapped_labels(
        self, mapped: Tier, canonical: Tier | None, expected: ReconOutcome
    ) -> None:
        assert propose(LabelState.MAPPED, mapped, canonical) is expected

    def test_unmapped_labels_block(self) -> None:
        assert propose(LabelState.UNMAPPED, None, Tier.GOLD) is ReconOutcome.UNMAPPED

    def test_ignored_or_missing_labels_change_nothing(self) -> None:
        assert propose(LabelState.IGNORED, None, Tier.GOLD) is ReconOutcome.IGNORE
        assert propose(LabelState.NO_LABEL, None, None) is ReconOutcome.IGNORE

    def test_a_mapped_label_needs_its_tier(self) -> None:
        with pytest.raises(ValueError, match="tier"):
            propose(LabelState.MAPPED, None, Tier.GOLD)

    def test_tier_order(self) -> None:
        assert [t.rank for t in Tier] == [0, 1, 2, 3, 4]
        assert min(Tier, key=lambda t: t.rank) is Tier.BRONZE
        assert max(Tier, key=lambda t: t.rank) is Tier.DIAMOND


class TestConflicts:
    def test_none(self) -> None:
        assert (
            conflicts(
                canonical_at_staging=Tier.GOLD,
                canonical_now=Tier.GOLD,
                other_open=False,
                imported_points=100,
                balance=100,
            )
            == frozenset()
        )

    def test_tier_changed_since_staging(self) -> None:
        found = conflicts(
            canonical_at_staging=Tier.SILVER,
            canonical_now=Tier.GOLD,
            other_open=False,
            imported_points=None,
            balance=0,
        )
        assert found == {Conflict.TIER_CHANGED_SINCE_STAGING}

    def test_a_loyalty_record_seeded_since_staging_is_a_change(self) -> None:
        found = conflicts(
            canonical_at_staging=None,
            canonical_now=Tier.BRONZE,
            other_open=False,
            imported_points=None,
            balance=0,
        )
        assert found == {Conflict.TIER_CHANGED_SINCE_STAGING}

    def test_other_open_and_points(self) -> None:
        found = conflicts(
            canonical_at_staging=None,
            canonical_now=None,
            other_open=True,
            imported_points=1200,
            balance=None,
        )
        assert found == {Conflict.OTHER_OPEN_RECONCILIATION, Conflict.POINTS_MISMATCH}

    def test_zero_imported_points_match_no_loyalty_record(self) -> None:
        found = conflicts(
            canonical_at_staging=None,
            canonical_now=None,
            other_open=False,
            imported_points=0,
            balance=None,
        )
        assert found == frozenset()


def gate(
    proposed: ReconOutcome,
    *,
    mapped: Tier | None = Tier.GOLD,
    canonical: Tier | None = Tier.SILVER,
    fresh: Freshness = Freshness.FRESH,
    confirmed: bool = False,
    reason: str | None = None,
    may_override: bool = False,
) -> Decision:
    return decide(
        proposed=proposed,
        mapped=mapped,
        canonical=canonical,
        fresh=fresh,
        confirmed=confirmed,
        override_reason=reason,
        may_override=may_override,
    )


def refused(code: ErrorCode, proposed: ReconOutcome, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as raised:
        gate(proposed, **kwargs)  # type: ignore[arg-type]
    assert raised.value.code is code
    return raised.value


class TestApplyGate:
    def test_upgrade_applies_the_mapped_tier(self) -> None:
        decision = gate(ReconOutcome.UPGRADE)
        assert decision == _decision(ReconStatus.APPLIED, ReconOutcome.UPGRADE, Tier.GOLD)

    def test_equal_tier_is_a_recorded_no_op(self) -> None:
        decision = gate(ReconOutcome.NO_CHANGE, canonical=Tier.GOLD)
        assert decision == _decision(ReconStatus.NO_CHANGE, ReconOutcome.NO_CHANGE, Tier.GOLD)

    def test_seed(self) -> None:
        decision = gate(ReconOutcome.SEED, canonical=None)
        assert decision == _decision(ReconStatus.APPLIED, ReconOutcome.SEED, Tier.GOLD)

    def test_ignore_keeps_the_tier_and_needs_no_confirmation(self) -> None:
        decision = gate(ReconOutcome.IGNORE, mapped=None, fresh=Freshness.UNKNOWN)
        assert decision == _decision(ReconStatus.IGNORED, ReconOutcome.IGNORE, Tier.SILVER)

    def test_unmapped_is_refused(self) -> None:
        refused(ErrorCode.RECON_LABEL_UNMAPPED, ReconOutcome.UNMAPPED, mapped=None)

    def test_downgrade_without_override_is_refused(self) -> None:
        error = refused(
            ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE,
            ReconOutcome.DOWNGRADE,
            mapped=Tier.SILVER,
            canonical=Tier.PLATINUM,
            may_override=True,
        )
        assert error.details["field"] == "override_reason"
        assert "platinum" in error.message and "silver" in error.message

    def test_a_blank_reason_is_no_override(self) -> None:
        refused(
            ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE,
            ReconOutcome.DOWNGRADE,
            reason="   ",
            may_override=True,
        )

    def test_downgrade_override_needs_the_capability(self) -> None:
        refused(ErrorCode.AUTH_FORBIDDEN, ReconOutcome.DOWNGRADE, reason="vendor error")

    def test_downgrade_with_override(self) -> None:
        decision = gate(
            ReconOutcome.DOWNGRADE,
            mapped=Tier.SILVER,
            canonical=Tier.PLATINUM,
            reason="  vendor tier was audited  ",
            may_override=True,
        )
        assert decision == _decision(
            ReconStatus.APPLIED, ReconOutcome.DOWNGRADE, Tier.SILVER, "vendor tier was audited"
        )

    def test_an_override_reason_is_dropped_when_nothing_is_lowered(self) -> None:
        decision = gate(ReconOutcome.UPGRADE, reason="not needed", may_override=True)
        assert decision == _decision(ReconStatus.APPLIED, ReconOutcome.UPGRADE, Tier.GOLD)

    def test_an_override_reason_has_a_length_limit(self) -> None:
        refused(
            ErrorCode.VALIDATION_FAILED, ReconOutcome.DOWNGRADE, reason="x" * 501, may_override=True
        )

    @pytest.mark.parametrize("fresh", [Freshness.STALE, Freshness.UNKNOWN])
    @pytest.mark.parametrize(
        "proposed",
        [ReconOutcome.UPGRADE, ReconOutcome.NO_CHANGE, ReconOutcome.SEED, ReconOutcome.DOWNGRADE],
    )
    def test_stale_or_unknown_needs_the_confirmation(
        self, proposed: ReconOutcome, fresh: Freshness
    ) -> None:
        assert needs_confirmation(proposed, fresh)
        error = refused(
            ErrorCode.RECON_CONFIRMATION_REQUIRED,
            proposed,
            fresh=fresh,
            reason="audited",
            may_override=True,
        )
        assert error.details["freshness"] == fresh.value
        confirmed = gate(proposed, fresh=fresh, confirmed=True, reason="audited", may_override=True)
        assert confirmed.outcome is proposed

    def test_fresh_rows_need_no_confirmation(self) -> None:
        for proposed in ReconOutcome:
            assert not needs_confirmation(proposed, Freshness.FRESH)
        assert not needs_confirmation(ReconOutcome.IGNORE, Freshness.STALE)

    @given(
        mapped=st.sampled_from(Tier),
        canonical=st.one_of(st.none(), st.sampled_from(Tier)),
        fresh=st.sampled_from(Freshness),
        confirmed=st.booleans(),
    )
    def test_never_lowers_a_tier_without_an_override(
        self, mapped: Tier, canonical: Tier | None, fresh: Freshness, confirmed: bool
    ) -> None:
        proposed = propose(LabelState.MAPPED, mapped, canonical)
        try:
            decision = decide(
                proposed=proposed,
                mapped=mapped,
                canonical=canonical,
                fresh=fresh,
                confirmed=confirmed,
                override_reason=None,
                may_override=True,
            )
        except DomainError as error:
            assert error.code in {
                ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE,
                ErrorCode.RECON_CONFIRMATION_REQUIRED,
            }
            return
        assert decision.tier_after is not None
        if canonical is not None:
            assert decision.tier_after.rank >= canonical.rank


def _decision(
    status: ReconStatus, outcome: ReconOutcome, tier: Tier | None, reason: str | None = None
) -> Decision:
    return Decision(status=status, outcome=outcome, tier_after=tier, override_reason=reason)
