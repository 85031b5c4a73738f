"""Drift classes at their boundaries, and each explanation rule on a small history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitterm.domain.drift_rules import Cause, DriftClass, Event, classify, explain, timeline

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def events(*specs: tuple[str, int]) -> list[Event]:
    return [
        Event(f"e{i}", T0 + timedelta(hours=i), kind, delta)
        for i, (kind, delta) in enumerate(specs, start=1)
    ]


@pytest.mark.parametrize(
    ("drift", "tolerance", "expected"),
    [
        (0, 0, DriftClass.IN_BALANCE),
        (1, 0, DriftClass.MATERIAL),
        (5, 5, DriftClass.IN_BALANCE),
        (-5, 5, DriftClass.IN_BALANCE),
        (6, 5, DriftClass.MINOR),
        (50, 5, DriftClass.MINOR),
        (-50, 5, DriftClass.MINOR),
        (51, 5, DriftClass.MATERIAL),
        (-51, 5, DriftClass.MATERIAL),
    ],
)
def test_class_boundaries(drift: int, tolerance: int, expected: DriftClass) -> None:
    assert classify(drift, tolerance) is expected


@given(st.integers(-(10**9), 10**9), st.integers(0, 10**6))
def test_classes_are_symmetric_and_ordered(drift: int, tolerance: int) -> None:
    assert classify(drift, tolerance) is classify(-drift, tolerance)
    order = list(DriftClass)
    assert order.index(classify(drift, tolerance)) <= order.index(
        classify(drift + (1 if drift >= 0 else -1), tolerance)
    )


def test_running_balance_oldest_first() -> None:
    rows = timeline(list(reversed(events(("earn", 100), ("redeem", -30), ("earn", 5)))))
    assert [r.running for r in rows] == [100, 70, 75]


def test_in_balance() -> None:
    assert explain(events(("earn", 100)), 100).cause is Cause.IN_BALANCE


def test_double_post_names_the_entry() -> None:
    history = events(("earn", 100), ("earn", 40), ("redeem", -25))
    found = explain(history, 115 + 40)
    assert (found.cause, found.entry_id) == (Cause.DOUBLE_POSTED, "e2")


def test_missing_entry() -> None:
    history = events(("earn", 100), ("redeem", -25), ("earn", 10))
    found = explain(history, 85 + 25)
    assert (found.cause, found.entry_id) == (Cause.MISSING_ENTRY, "e2")


def test_missing_correction_wins_over_missing_entry() -> None:
    history = events(("earn", 60), ("redeem", -60), ("correct", 60), ("earn", 5))
    found = explain(history, 65 - 60)
    assert (found.cause, found.entry_id) == (Cause.MISSING_CORRECTION, "e3")


def test_stale_snapshot_finds_where_it_diverged() -> None:
    history = events(("earn", 100), ("earn", 20), ("earn", 30), ("redeem", -7))
    found = explain(history, 100)
    assert (found.cause, found.diverged_after) == (Cause.STALE_SNAPSHOT, "e1")
    assert "3 entries" in found.text


def test_stale_from_the_very_start() -> None:
    found = explain(events(("earn", 10), ("earn", 20)), 0)
    assert found.cause is Cause.STALE_SNAPSHOT and found.diverged_after is None


def test_unexplained() -> None:
    found = explain(events(("earn", 100), ("earn", 20)), 1000)
    assert found.cause is Cause.UNEXPLAINED and "+880" in found.text


def test_tolerance_applies_to_explanations() -> None:
    assert explain(events(("earn", 100)), 102, tolerance=2).cause is Cause.IN_BALANCE
