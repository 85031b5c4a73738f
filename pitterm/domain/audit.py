"""The audit trail: one append-only row per mutation, written inside the mutation's transaction.

Rows are queued on the unit of work and sent with its commit (nothing reads them back within
the transaction), so a mutation's audit costs no round trip of its own on Postgres.
"""

from __future__ import annotations

import uuid
from typing import Any

from pitterm.domain.actor import Actor
from pitterm.domain.database import UnitOfWork
from pitterm.domain.tables import AuditLog


def record(
    uow: UnitOfWork,
    *,
    casino_id: uuid.UUID,
    staff_id: uuid.UUID | None,
    action: str,
    entity_type: str,
    entity_id: object | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Queue the row (sent at commit); returns its id."""
    row_id = uuid.uuid4()
    uow.append(
        AuditLog,
        {
            "id": row_id,
            "casino_id": casino_id,
            "staff_id": staff_id,
            "action": action,
            "entity_type": entity_type,
            "entity_id": None if entity_id is None else str(entity_id),
            "before": before,
            "after": after,
            "correlation_id": uow.correlation_id,
            "created_at": uow.now(),
        },
    )
    return row_id


def by(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> uuid.UUID:
    """The audit row of a change the signed-in actor made at their casino."""
    return record(
        uow,
        casino_id=actor.casino_id,
        staff_id=actor.staff_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )
