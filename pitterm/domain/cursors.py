"""Keyset page cursors: an opaque token for "rows older than (timestamp, id)"."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from pitterm.domain.errors import DomainError, ErrorCode


def encode(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode(cursor: str, invalid: ErrorCode) -> tuple[datetime, uuid.UUID]:
    """The (timestamp, id) a cursor stands for; a malformed one is refused with ``invalid``."""
    try:
        stamp, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("naive timestamp")
        return at, uuid.UUID(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise DomainError(invalid, "That page cursor is not valid.") from error
