"""Error codes and the one exception type every service raises.

The loyalty codes are seed 003 Appendix C verbatim; the others follow its style
(`AREA_CONDITION`). A screen shows ``str(error)``: the code and a human message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # Seed 003, Appendix C.
    LOYALTY_INSUFFICIENT_BALANCE = "LOYALTY_INSUFFICIENT_BALANCE"
    LOYALTY_OVERDRAW_NOT_AUTHORIZED = "LOYALTY_OVERDRAW_NOT_AUTHORIZED"
    LOYALTY_OVERDRAW_EXCEEDS_CAP = "LOYALTY_OVERDRAW_EXCEEDS_CAP"
    LOYALTY_POINTS_INVALID = "LOYALTY_POINTS_INVALID"
    LOYALTY_IDEMPOTENCY_REQUIRED = "LOYALTY_IDEMPOTENCY_REQUIRED"
    LOYALTY_NOTE_REQUIRED = "LOYALTY_NOTE_REQUIRED"
    LOYALTY_PLAYER_NOT_FOUND = "LOYALTY_PLAYER_NOT_FOUND"
    LOYALTY_SLIP_NOT_FOUND = "LOYALTY_SLIP_NOT_FOUND"
    LOYALTY_SNAPSHOT_MISSING = "LOYALTY_SNAPSHOT_MISSING"
    LOYALTY_SLIP_NOT_CLOSED = "LOYALTY_SLIP_NOT_CLOSED"
    # pitterm's own, in the same style.
    AUTH_INVALID_CREDENTIALS = "AUTH_INVALID_CREDENTIALS"
    AUTH_STAFF_LOCKED = "AUTH_STAFF_LOCKED"
    AUTH_FORBIDDEN = "AUTH_FORBIDDEN"
    CASINO_NOT_FOUND = "CASINO_NOT_FOUND"
    CASINO_MISMATCH = "CASINO_MISMATCH"
    STAFF_NOT_FOUND = "STAFF_NOT_FOUND"
    STAFF_CODE_TAKEN = "STAFF_CODE_TAKEN"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    PLAYER_NOT_FOUND = "PLAYER_NOT_FOUND"
    PLAYER_CARD_TAKEN = "PLAYER_CARD_TAKEN"
    VISIT_NOT_FOUND = "VISIT_NOT_FOUND"
    VISIT_NOT_OPEN = "VISIT_NOT_OPEN"
    VISIT_ALREADY_OPEN = "VISIT_ALREADY_OPEN"
    VISIT_NOT_GAMING = "VISIT_NOT_GAMING"
    VISIT_NOT_CONVERTIBLE = "VISIT_NOT_CONVERTIBLE"
    VISIT_NOT_GHOST = "VISIT_NOT_GHOST"
    SLIP_NOT_FOUND = "SLIP_NOT_FOUND"
    SLIP_STATE_INVALID = "SLIP_STATE_INVALID"
    SLIP_ALREADY_LIVE = "SLIP_ALREADY_LIVE"
    SEAT_TAKEN = "SEAT_TAKEN"
    SEAT_INVALID = "SEAT_INVALID"
    TABLE_NOT_FOUND = "TABLE_NOT_FOUND"
    TABLE_CLOSED = "TABLE_CLOSED"
    BET_INVALID = "BET_INVALID"


class DomainError(Exception):
    """A refusal the user can act on: a stable code, a human message, optional details."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"

    def __repr__(self) -> str:
        return f"DomainError({self.code.value!r}, {self.message!r})"
