"""PINs: hashing with salted scrypt (stdlib), constant-time verification, and the lockout
that wrong ones lead to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from pitterm.domain.errors import DomainError, ErrorCode

MAX_FAILED_ATTEMPTS = 5
"""Wrong PINs in a row, at any prompt, that lock a staff account until an admin unlocks it."""


def locked_refusal(staff_code: str) -> DomainError:
    """AUTH_STAFF_LOCKED for ``staff_code``'s account (the code is in the details, so that a
    terminal can tell its own signed-in staff member's lockout from an approver's)."""
    return DomainError(
        ErrorCode.AUTH_STAFF_LOCKED,
        f"Staff {staff_code} is locked after {MAX_FAILED_ATTEMPTS} wrong PINs;"
        " an admin must unlock the account.",
        staff_code=staff_code,
    )


_N, _R, _P = 2**14, 8, 1
_SCHEME = "scrypt"


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(
        [_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)],
    )


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != _SCHEME:
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        pin.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(expected),
    )
    return hmac.compare_digest(actual, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
