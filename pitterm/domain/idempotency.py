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
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, Table, bindparam, exc, select

from pitterm.domain.actor import Actor
from pitterm.domain.database import Direct, UnitOfWork, table_of
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import IdempotencyRecord


class Outcome(BaseModel):
    """Base of every idempotent result: ``is_existing`` is true on a replay."""

    is_existing: bool = False


R = TypeVar("R", bound=Outcome)


def request_hash(operation: str, request: BaseModel) -> str:
    payload = request.model_dump(mode="json", exclude={"idempotency_key"})
    canonical = _CANONICAL.encode([operation, payload])
    return hashlib.sha256(canonical.encode()).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
"""``json.dumps(..., sort_keys=True, separators=(",", ":"))``, without a new encoder per call."""


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
    return _once(uow, actor, operation, key, request, result_type, lambda _first: body(), None, {})


def run_idempotent_from(
    uow: UnitOfWork,
    actor: Actor,
    *,
    operation: str,
    key: uuid.UUID,
    request: BaseModel,
    result_type: type[R],
    first: Direct,
    parameters: dict[str, Any],
    body: Callable[[Any | None], R],
) -> R:
    """``run_idempotent`` for a body whose first statement is ``first`` (made by
    ``with_outcome``): that one statement reads both what the body starts from and the
    stored outcome of the key, a round trip fewer than looking the key up on its own.

    The body gets ``first``'s row — or None when it found no row, and then the key has been
    looked up on its own. A stored outcome is replayed before the body runs, as ever; the
    body's row lock, if ``first`` takes one, is held only until that replay rolls back.
    """
    return _once(uow, actor, operation, key, request, result_type, body, first, parameters)


def with_outcome(statement: Select[Any], base: Table) -> Direct:
    """``statement`` with the stored outcome of a request key beside its columns (NULL when
    there is none), joined from its table ``base``; params ``outcome_casino``,
    ``outcome_key``."""
    return Direct(
        statement.add_columns(
            _RECORD.c.operation.label("outcome_operation"),
            _RECORD.c.request_hash.label("outcome_request_hash"),
            _RECORD.c.result.label("outcome_result"),
        ).outerjoin_from(
            base,
            _RECORD,
            (_RECORD.c.casino_id == bindparam("outcome_casino"))
            & (_RECORD.c.idempotency_key == bindparam("outcome_key")),
        )
    )


def _once(
    uow: UnitOfWork,
    actor: Actor,
    operation: str,
    key: uuid.UUID,
    request: BaseModel,
    result_type: type[R],
    body: Callable[[Any | None], R],
    first: Direct | None,
    parameters: dict[str, Any],
) -> R:
    fingerprint = request_hash(operation, request)
    for attempt in range(2):
        try:
            with uow:
                row: Any | None = None
                if first is not None:
                    given = {**parameters, "outcome_casino": actor.casino_id, "outcome_key": key}
                    row = uow.execute(first, given).first()
                stored = _Stored.of_outcome(row) if row is not None else _find(uow, actor, key)
                if stored is not None:
                    return _replay(stored, operation, fingerprint, result_type)
                try:
                    result = body(row)
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


@dataclass(frozen=True)
class _Stored:
    operation: str
    request_hash: str
    result: dict[str, Any]

    @classmethod
    def of_outcome(cls, row: Any) -> _Stored | None:
        """The stored outcome a ``with_outcome`` row carries, if any."""
        if row.outcome_operation is None:
            return None
        return cls(row.outcome_operation, row.outcome_request_hash, row.outcome_result)


_RECORD = table_of(IdempotencyRecord)
_FIND = Direct(
    select(_RECORD.c.operation, _RECORD.c.request_hash, _RECORD.c.result).where(
        _RECORD.c.casino_id == bindparam("casino_id"),
        _RECORD.c.idempotency_key == bindparam("key"),
    )
)


def _find(uow: UnitOfWork, actor: Actor, key: uuid.UUID) -> _Stored | None:
    row = uow.execute(_FIND, {"casino_id": actor.casino_id, "key": key}).first()
    return None if row is None else _Stored(row.operation, row.request_hash, row.result)


def _replay(stored: _Stored, operation: str, fingerprint: str, result_type: type[R]) -> R:
    if stored.operation != operation or stored.request_hash != fingerprint:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "This request key was already used for a different request; nothing was changed.",
            operation=stored.operation,
        )
    return result_type.model_validate({**stored.result, "is_existing": True})
