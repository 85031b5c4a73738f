"""How amounts read on screen: dollars from cents, percentages from Decimals."""

from __future__ import annotations

from decimal import Decimal


def dollars(cents: int) -> str:
    """'$10', '$5,000', '$12.50', '-$3.05': whole dollars without a needless '.00'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}" if part == 0 else f"{sign}${whole:,}.{part:02d}"


def percent(value: Decimal) -> str:
    """'1.5%', '0.25%', '5%': a percentage figure as stored, trailing zeros dropped."""
    text = format(value.normalize(), "f")
    return f"{text}%"
