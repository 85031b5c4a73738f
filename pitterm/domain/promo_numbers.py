"""Coupon validation numbers: human-readable, with a check character that catches typing errors.

A number reads ``MP-7K3Q-9XDA-4``: a two-letter prefix naming the instrument type, eight
random characters in two groups, and one check character. Every character comes from a
32-symbol alphabet without the look-alikes 0, O, 1 and I, so a number read aloud or typed
from paper has one spelling. Hyphens and spaces are only for people: ``mp7k3q9xda4`` is the
same number.

The check character is a Damm-style check over the field GF(32): with the symbols as field
elements, the running state is ``s ← 2·s + v`` for every symbol ``v`` (prefix included) and
a number is valid when the state ends at 0. Because every step is a bijection in both ``s``
and ``v``, any single wrong character changes the final state; because
``2·(2s + x) + y − 2·(2s + y) − x = 3·(x − y)`` and 3 ≠ 0 in GF(32), swapping two adjacent
different characters does too. Both are proven by the property tests.

Pure functions, no I/O: the service decides prefixes and retries on collision.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from random import Random

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 symbols: digits 2–9 and A–Z without I and O (0 and 1 are left out as well)."""
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_LOOK_ALIKES = "01OI"
_FIELD_POLYNOMIAL = 0b100101
"""x⁵ + x² + 1: irreducible over GF(2), so the 32 residues form a field."""

PREFIX_LENGTH = 2
BODY_LENGTH = 8
GROUP = 4
COMPACT_LENGTH = PREFIX_LENGTH + BODY_LENGTH + 1
"""Characters in a number without its hyphens: prefix, body, check."""
EXAMPLE = "MP-7K3Q-9XDA-4"
"""The shape of a number, for prompts and messages (not necessarily a valid one)."""


class InvalidNumber(ValueError):
    """The text is not a valid validation number; ``str()`` says why, for the user."""


class NumberFormatError(InvalidNumber):
    """Wrong length or characters: not shaped like a validation number at all."""


class NumberCheckError(InvalidNumber):
    """Well-formed, but the check character does not match: a typing error."""


@dataclass(frozen=True)
class ValidationNumber:
    prefix: str
    body: str
    check: str

    @property
    def text(self) -> str:
        """The canonical spelling, as stored and printed: ``MP-7K3Q-9XDA-4``."""
        groups = [self.body[i : i + GROUP] for i in range(0, BODY_LENGTH, GROUP)]
        return "-".join([self.prefix, *groups, self.check])

    def __str__(self) -> str:
        return self.text


def _times_two(state: int) -> int:
    state <<= 1
    if state & 0b100000:
        state ^= _FIELD_POLYNOMIAL
    return state


def _fold(symbols: str) -> int:
    state = 0
    for symbol in symbols:
        state = _times_two(state) ^ _VALUE[symbol]
    return state


def check_character(payload: str) -> str:
    """The check character for ``payload`` (prefix and body, compact, in the alphabet)."""
    unknown = sorted({c for c in payload if c not in _VALUE})
    if unknown:
        raise NumberFormatError(f"characters {''.join(unknown)!r} are not in the alphabet")
    # The appended character c must bring the state to 0: 2·s + c = 0, so c = 2·s (char 2).
    return ALPHABET[_times_two(_fold(payload))]


def is_valid_prefix(prefix: str) -> bool:
    return len(prefix) == PREFIX_LENGTH and all(c in _VALUE for c in prefix)


def compose(prefix: str, body: str) -> ValidationNumber:
    """A number from its prefix and body, with the check character computed."""
    if not is_valid_prefix(prefix):
        raise NumberFormatError(f"prefix {prefix!r} must be {PREFIX_LENGTH} alphabet characters")
    if len(body) != BODY_LENGTH:
        raise NumberFormatError(f"the body has {BODY_LENGTH} characters")
    return ValidationNumber(prefix, body, check_character(prefix + body))


def generate(prefix: str, rng: Random | None = None) -> ValidationNumber:
    """A fresh random number with ``prefix`` (cryptographically random unless ``rng`` given)."""
    source = rng if rng is not None else secrets.SystemRandom()
    body = "".join(source.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return compose(prefix, body)


def compact(text: str) -> str:
    """``text`` upper-cased without spaces and hyphens: how a typed number is compared."""
    return "".join(c for c in text.upper() if c not in " -\t")


def parse(text: str) -> ValidationNumber:
    """The number ``text`` spells, or InvalidNumber saying what is wrong with it.

    Format problems (NumberFormatError) are reported before the check character is looked
    at; a well-formed number whose check fails raises NumberCheckError.
    """
    raw = compact(text)
    if not raw:
        raise NumberFormatError(f"enter a validation number like {EXAMPLE}")
    look_alikes = sorted({c for c in raw if c in _LOOK_ALIKES})
    if look_alikes:
        raise NumberFormatError(
            f"{', '.join(look_alikes)} never appear in validation numbers"
            " (they use no 0, O, 1 or I); re-read the coupon"
        )
    unknown = sorted({c for c in raw if c not in _VALUE})
    if unknown:
        raise NumberFormatError(f"{''.join(unknown)!r} cannot appear in a validation number")
    if len(raw) != COMPACT_LENGTH:
        raise NumberFormatError(
            f"a validation number has {COMPACT_LENGTH} characters (like {EXAMPLE});"
            f" this one has {len(raw)}"
        )
    if _fold(raw) != 0:
        raise NumberCheckError(
            "the check character does not match: a character was mistyped or two were swapped"
        )
    return ValidationNumber(raw[:PREFIX_LENGTH], raw[PREFIX_LENGTH:-1], raw[-1])


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidNumber:
        return False
    return True


__all__ = [
    "ALPHABET",
    "COMPACT_LENGTH",
    "EXAMPLE",
    "InvalidNumber",
    "NumberCheckError",
    "NumberFormatError",
    "ValidationNumber",
    "check_character",
    "compact",
    "compose",
    "generate",
    "is_valid",
    "is_valid_prefix",
    "parse",
]
