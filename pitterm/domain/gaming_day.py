"""The gaming day: a casino's business date, which starts at a set local time (default 06:00)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def gaming_day(at: datetime, time_zone: str, day_start: time) -> date:
    """The gaming day ``at`` falls in: local date, minus one if before the day's start time."""
    if at.tzinfo is None:
        raise ValueError("gaming_day needs an aware datetime")
    local = at.astimezone(ZoneInfo(time_zone))
    if local.time().replace(tzinfo=None) < day_start:
        return local.date() - timedelta(days=1)
    return local.date()
