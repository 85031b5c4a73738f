"""How ledger entries read on screen: reasons, times, and metadata as labelled lines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from textual.content import Content

from pitterm.domain.enums import LedgerReason
from pitterm.domain.loyalty import LedgerRow
from pitterm.widgets.points import delta

REASON_LABELS: dict[LedgerReason, str] = {
    LedgerReason.BASE_ACCRUAL: "Base accrual",
    LedgerReason.PROMOTION: "Promotion",
    LedgerReason.MANUAL_REWARD: "Manual credit",
    LedgerReason.REDEEM: "Comp (redeem)",
    LedgerReason.ADJUSTMENT: "Adjustment",
    LedgerReason.REVERSAL: "Reversal",
}

SECTION_LABELS: dict[str, str] = {
    "source": "Source",
    "calc": "Accrual inputs",
    "policy": "Policy",
    "redemption": "Comp",
    "overdraw": "Overdraw approval",
    "reverses": "Reverses",
}

KEY_LABELS: dict[str, str] = {
    "average_bet": "Average bet ($)",
    "average_bet_cents": "Average bet (cents)",
    "house_edge_pct": "House edge (%)",
    "decisions_per_hour": "Decisions per hour",
    "conversion_rate": "Points per $ theo",
    "duration_minutes": "Played (minutes)",
    "played_seconds": "Played (seconds)",
    "paused_seconds": "Paused (seconds)",
    "theo_exact": "Theo (exact)",
    "base_points": "Base points",
    "comp_type": "Comp",
    "reward_id": "Catalog item",
    "approved_by_staff_id": "Approved by",
    "approved_by_code": "Approver code",
    "awarded_by_staff_id": "Awarded by",
    "adjusted_by_staff_id": "Adjusted by",
    "self_approved": "Self-approved",
    "cap": "Overdraw cap (pts)",
    "balance_before": "Balance before",
    "balance_after": "Balance after",
    "suggested_points": "Suggested points",
    "entry_id": "Entry",
    "points_delta": "Points",
    "gaming_day": "Gaming day",
    "snapshot_ref": "Snapshot",
    "casino_id": "Casino",
    "table_id": "Table",
    "id": "Id",
}


def reason_label(reason: LedgerReason) -> str:
    return REASON_LABELS.get(reason, reason.value)


def local_time(moment: datetime, time_zone: str | None) -> str:
    """'2026-11-21 12:00' in the casino's zone (UTC, marked, when the zone is not known yet)."""
    if time_zone is None:
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"{moment.astimezone(ZoneInfo(time_zone)):%Y-%m-%d %H:%M}"


def staff_label(row: LedgerRow) -> str:
    return row.staff_code or "—"


def _key_label(key: str) -> str:
    return KEY_LABELS.get(key, key.replace("_", " ").capitalize())


HIDDEN_KEYS = frozenset({"casino_id", "snapshot_ref", "average_bet_cents", "theo_exact"})
"""Metadata a reader does not need: always this casino, or the same figure said twice."""


def _value(value: Any, staff: Mapping[str, str], time_zone: str | None) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(_value(item, staff, time_zone) for item in value)
    text = str(value)
    if "T" in text and text[:4].isdigit():
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return local_time(moment, time_zone)
    return staff.get(text, text)


def _lines(
    data: Mapping[str, Any], staff: Mapping[str, str], time_zone: str | None, depth: int
) -> Iterator[Content]:
    indent = "  " * depth
    for key, value in data.items():
        if value is None or value == {} or key in HIDDEN_KEYS:
            continue
        if isinstance(value, Mapping):
            heading = SECTION_LABELS.get(key, _key_label(key))
            yield Content.assemble(indent, (heading, "bold $text-accent"))
            yield from _lines(value, staff, time_zone, depth + 1)
        else:
            yield Content.assemble(
                indent, (f"{_key_label(key)}: ", "$text-muted"), _value(value, staff, time_zone)
            )


def describe_entry(
    row: LedgerRow, *, time_zone: str | None, staff: Mapping[uuid.UUID, str]
) -> Content:
    """The entry, then its metadata: nested sections indented, staff ids shown as code and name.

    Built as Content, never markup: notes are typed by staff and may hold any character.
    """
    by_text = {str(staff_id): label for staff_id, label in staff.items()}

    def fact(label: str, value: str) -> Content:
        return Content.assemble((f"{label}: ", "$text-muted"), value)

    lines = [
        Content.assemble((f"{reason_label(row.reason)}  {delta(row.points_delta)} pts", "bold")),
        fact("When", local_time(row.created_at, time_zone)),
        fact("Player", row.player_name),
        fact("Staff", f"{row.staff_code or '—'} {row.staff_name or ''}".rstrip()),
        fact("Note", row.note or "—"),
        fact("Entry", str(row.id)),
    ]
    if row.reverses_entry_id is not None:
        lines.append(fact("Reverses entry", str(row.reverses_entry_id)))
    if row.rating_slip_id is not None:
        lines.append(fact("Rating slip", str(row.rating_slip_id)))
    body = list(_lines(row.metadata, by_text, time_zone, 0))
    if body:
        lines += [Content(""), Content.styled("Details", "bold underline"), *body]
    return Content("\n").join(lines)
