"""Exporting the audit log (admin): one casino's rows, oldest first, as formula-safe CSV.

The rows are read a page at a time by keyset on ``(created_at, id)``, each page in its own
short read transaction, and written as they come: an export of years of audit holds one
page in memory and never a long transaction. Rows committed while an export runs are
included when they sort after the page being read; give an ``until`` day for a fixed window.

Who may export: the admin alone. DESIGN §3 has no row for reading the audit log; the log is
the record of every staff member's actions (sign-ins, approvals, overdraws, settings and
staff changes), and overseeing staff and casino settings is the admin's capability
(``MANAGE_STAFF_SETTINGS``), so the export is held to it rather than widened to roles that
the log itself audits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, select, tuple_

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.casinos import load_settings
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import UnitOfWork, table_of
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import AuditLog, Staff
from pitterm.domain.validation import parse

EXPORT_PAGE = 500
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9998, 12, 31)
"""Audit rows read per round trip while exporting."""

HEADER = (
    "created_at",
    "audit_id",
    "action",
    "entity_type",
    "entity_id",
    "staff_code",
    "staff_name",
    "staff_role",
    "before",
    "after",
    "correlation_id",
)
"""The export's columns: when (UTC, ISO 8601), what, on which row, who, the change (JSON)."""

_AUDIT = table_of(AuditLog)
_STAFF = table_of(Staff)


class AuditExportWindow(BaseModel):
    """Calendar days in the casino's time zone; both ends are included, either may be open."""

    model_config = ConfigDict(frozen=True)

    # Bounded so that the day after ``until`` and midnight in any time zone exist as UTC
    # datetimes (date.max + 1 day would overflow, not refuse).
    since: date | None = Field(default=None, ge=FIRST_DAY, le=LAST_DAY)
    until: date | None = Field(default=None, ge=FIRST_DAY, le=LAST_DAY)


class AuditExportResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: int
    since: datetime | None
    """The window's start (UTC), inclusive, or None for the beginning."""
    until: datetime | None
    """The window's end (UTC), exclusive, or None for whatever is there."""


def export_csv(
    uow: UnitOfWork, actor: Actor, window: AuditExportWindow, out: TextIO
) -> AuditExportResult:
    """Write the casino's audit rows in ``window`` to ``out`` as CSV, oldest first."""
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    window = parse(AuditExportWindow, window)
    if window.since is not None and window.until is not None and window.until < window.since:
        raise DomainError(
            ErrorCode.VALIDATION_FAILED,
            f"until: {window.until} is before since ({window.since})",
            errors=[{"field": "until", "message": "before since"}],
        )
    with uow:
        zone = ZoneInfo(load_settings(uow, actor.casino_id).time_zone)
    since = _start_of(window.since, zone)
    until = _start_of(window.until + timedelta(days=1), zone) if window.until else None
    out.write(write_rows(HEADER, []))
    count = 0
    for page in _pages(uow, actor, since, until):
        out.write(write_rows(None, (_cells(row) for row in page)))
        count += len(page)
    return AuditExportResult(rows=count, since=since, until=until)


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), zone)


def _pages(
    uow: UnitOfWork, actor: Actor, since: datetime | None, until: datetime | None
) -> Iterator[list[Any]]:
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        conditions: list[ColumnElement[bool]] = [_AUDIT.c.casino_id == actor.casino_id]
        if since is not None:
            conditions.append(_AUDIT.c.created_at >= since)
        if until is not None:
            conditions.append(_AUDIT.c.created_at < until)
        if after is not None:
            conditions.append(tuple_(_AUDIT.c.created_at, _AUDIT.c.id) > tuple_(*after))
        query = (
            select(
                _AUDIT.c.created_at,
                _AUDIT.c.id,
                _AUDIT.c.action,
                _AUDIT.c.entity_type,
                _AUDIT.c.entity_id,
                _STAFF.c.code,
                _STAFF.c.name,
                _STAFF.c.role,
                _AUDIT.c.before,
                _AUDIT.c.after,
                _AUDIT.c.correlation_id,
            )
            .select_from(
                _AUDIT.outerjoin(
                    _STAFF,
                    (_STAFF.c.id == _AUDIT.c.staff_id) & (_STAFF.c.casino_id == _AUDIT.c.casino_id),
                )
            )
            .where(and_(*conditions))
            .order_by(_AUDIT.c.created_at, _AUDIT.c.id)
            .limit(EXPORT_PAGE)
        )
        with uow:
            rows = list(uow.execute(query).all())
        if not rows:
            return
        yield rows
        after = (rows[-1].created_at, rows[-1].id)


def _cells(row: Any) -> list[object]:
    return [
        row.created_at.isoformat(),
        row.id,
        row.action,
        row.entity_type,
        row.entity_id,
        row.code,
        row.name,
        row.role.value if row.role is not None else None,
        _json(row.before),
        _json(row.after),
        row.correlation_id,
    ]


def _json(value: dict[str, Any] | None) -> str | None:
    """The before/after document as compact JSON (keys sorted, so exports diff cleanly)."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


__all__ = ["HEADER", "AuditExportResult", "AuditExportWindow", "export_csv"]
