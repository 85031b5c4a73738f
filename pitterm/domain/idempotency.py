"""Idempotent mutations: a key per request; a repeat returns the first outcome, marked existing.

The outcome is stored in the same transaction as the change it describes (sent with the
commit, see ``UnitOfWork.append``). A repeat with the
same key but different content is refused (IDEMPOTENCY_CONFLICT), never silently replayed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Row, bindparam, exc, select

from pitterm.domain.actor import Actor
from pitterm.domain.database import UnitOfWork
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import IdempotencyRecord


class Outcome(BaseModel):
    """Base of every idempotent result: ``is_existing`` is true on a replay."""

    is_existing: bool = False


R = TypeVar("R", bound=Outcome)


def request_hash(operation: str, request: BaseModel) -> str:
    payload = request.model_dump(mode="json", exclude={"idempotency_key"})
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    uow: UnitOfWork,
    actor: Actor,
    *,
    operation: str,
    key: uuid.UUID,
    request: BaseModel,
    result_type: type[R],
    body: Callable[[], R],
) -> R:
    """Run ``body`` once per key inside one transaction, or replay the stored outcome.

    Two terminals sending the same key at once: one commits, the other loses on the unique
    key (or fails the body's own checks once it sees the first's change) and then replays
    the winner's outcome. Any other failure propagates with nothing written.
    """
    fingerprint = request_hash(operation, request)
    for attempt in range(2):
        try:
            with uow:
                stored = _find(uow, actor, key)
                if stored is not None:
                    return _replay(stored, operation, fingerprint, result_type)
                try:
                    result = body()
                except DomainError:
                    stored = _find(uow, actor, key)
                    if stored is not None:
                        return _replay(stored, operation, fingerprint, result_type)
                    raise
                uow.append(
                    IdempotencyRecord,
                    {
                        "id": uuid.uuid4(),
                        "casino_id": actor.casino_id,
                        "idempotency_key": key,
                        "operation": operation,
                        "request_hash": fingerprint,
                        "result": result.model_dump(mode="json"),
                        "staff_id": actor.staff_id,
                        "created_at": uow.now(),
                    },
                )
                uow.commit()
                return result
        except exc.IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


_RECORD = IdempotencyRecord.__table__
_FIND = select(_RECORD.c.operation, _RECORD.c.request_hash, _RECORD.c.result).where(
    _RECORD.c.casino_id == bindparam("casino_id"),
    _RECORD.c.idempotency_key == bindparam("key"),
)


def _find(uow: UnitOfWork, actor: Actor, key: uuid.UUID) -> Row[Any] | None:
    return uow.execute(_FIND, {"casino_id": actor.casino_id, "key": key}).first()


def _replay(stored: Row[Any], operation: str, fingerprint: str, result_type: type[R]) -> R:
    if stored.operation != operation or stored.request_hash != fingerprint:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "This request key was already used for a different request; nothing was changed.",
            operation=stored.operation,
        )
    return result_type.model_validate({**stored.result, "is_existing": True})
