"""Ledger drift (seed 001, DESIGN §10): classes by tolerance, and explanations by explicit rules.

drift = cached (or snapshot) balance − balance computed from the ledger.

Explanation rules, tried in this order on an account's entries (oldest first):

1. ``in_balance`` — |drift| ≤ tolerance: nothing to explain.
2. ``missing_correction`` — the drift undoes exactly one correction (a reversal or an
   adjustment, or a sandbox ``correct`` event): the cache never applied that correction.
3. ``missing_entry`` — drift = −delta of one entry: the entry is in the ledger but never
   reached the cached balance.
4. ``double_posted`` — drift = +delta of one entry: the cache applied that entry twice.
5. ``stale_snapshot`` — the cached balance equals the running balance at some earlier point
   and at least two later entries are missing from it: the cache stopped being updated then.
6. ``unexplained`` — none of the above; the drill-down timeline is the evidence.

When several entries match a rule, the most recent one is named. Rules 2–4 need one entry;
rule 5 needs the running balance to have passed through the cached value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DriftClass(StrEnum):
    IN_BALANCE = "in_balance"
    MINOR = "minor"
    MATERIAL = "material"


class Cause(StrEnum):
    IN_BALANCE = "in_balance"
    MISSING_CORRECTION = "missing_correction"
    MISSING_ENTRY = "missing_entry"
    DOUBLE_POSTED = "double_posted"
    STALE_SNAPSHOT = "stale_snapshot"
    UNEXPLAINED = "unexplained"


CORRECTION_KINDS = frozenset({"reversal", "adjustment", "correct"})


def classify(drift: int, tolerance: int) -> DriftClass:
    """|drift| ≤ t in balance; ≤ 10·t minor drift; above that a material mismatch."""
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    size = abs(drift)
    if size <= tolerance:
        return DriftClass.IN_BALANCE
    if size <= 10 * tolerance:
        return DriftClass.MINOR
    return DriftClass.MATERIAL


@dataclass(frozen=True)
class Event:
    """One ledger entry as the rules see it."""

    id: str
    at: datetime
    kind: str
    delta: int


@dataclass(frozen=True)
class TimelineRow:
    event: Event
    running: int


@dataclass(frozen=True)
class Explanation:
    cause: Cause
    text: str
    entry_id: str | None = None
    diverged_after: str | None = None
    """The last entry after which the running balance still equalled the cached one."""


def timeline(events: Sequence[Event]) -> list[TimelineRow]:
    """Events oldest first with the running balance after each."""
    running = 0
    rows = []
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        running += event.delta
        rows.append(TimelineRow(event, running))
    return rows


def explain(events: Sequence[Event], cached: int, tolerance: int = 0) -> Explanation:
    rows = timeline(events)
    computed = rows[-1].running if rows else 0
    drift = cached - computed
    if classify(drift, tolerance) is DriftClass.IN_BALANCE:
        return Explanation(Cause.IN_BALANCE, "The cached balance agrees with the ledger.")
    newest_first = [r.event for r in reversed(rows)]
    for event in newest_first:
        if event.kind in CORRECTION_KINDS and event.delta == -drift:
            return Explanation(
                Cause.MISSING_CORRECTION,
                f"Missing correction: the {event.kind} of {event.delta:+,} points"
                f" ({event.id}, {event.at:%Y-%m-%d %H:%M}) is in the ledger but was never"
                " applied to the cached balance.",
                entry_id=event.id,
            )
    for event in newest_first:
        if event.delta != 0 and event.delta == -drift:
            return Explanation(
                Cause.MISSING_ENTRY,
                f"Missing from the cache: the {event.kind} of {event.delta:+,} points"
                f" ({event.id}, {event.at:%Y-%m-%d %H:%M}) never reached the cached balance.",
                entry_id=event.id,
            )
    for event in newest_first:
        if event.delta != 0 and event.delta == drift:
            return Explanation(
                Cause.DOUBLE_POSTED,
                f"Double-posted: the {event.kind} of {event.delta:+,} points ({event.id},"
                f" {event.at:%Y-%m-%d %H:%M}) was applied to the cached balance twice.",
                entry_id=event.id,
            )
    for index in range(len(rows) - 2, -2, -1):
        running = rows[index].running if index >= 0 else 0
        later = len(rows) - 1 - index
        if running == cached and later >= 2:
            since = rows[index + 1].event
            return Explanation(
                Cause.STALE_SNAPSHOT,
                f"Stale snapshot: the cached balance matches the ledger as it stood before"
                f" {since.at:%Y-%m-%d %H:%M}; the {later} entries since"
                f" ({-drift:+,} points) never reached it.",
                diverged_after=rows[index].event.id if index >= 0 else None,
            )
    return Explanation(
        Cause.UNEXPLAINED,
        f"Unexplained drift of {drift:+,} points: it matches no single entry and no earlier"
        " running balance. Review the timeline.",
    )


__all__ = [
    "CORRECTION_KINDS",
    "Cause",
    "DriftClass",
    "Event",
    "Explanation",
    "TimelineRow",
    "classify",
    "explain",
    "timeline",
]
