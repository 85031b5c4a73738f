"""Typing money: dollars (with or without '$', commas and cents) in, integer cents out."""

from __future__ import annotations

import re

from textual.widgets import Input

_DOLLARS = re.compile(r"^\$?(?P<whole>\d{1,3}(,\d{3})+|\d+)?(\.(?P<cents>\d{0,2}))?$")


def parse_dollars(text: str, *, allow_zero: bool = False) -> int:
    """'$1,250.50' → 125050 cents. Raises ValueError with a message fit for the screen."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise ValueError("enter an amount in dollars, e.g. 25 or 1,250.50")
    match = _DOLLARS.match(cleaned)
    if match is None or (match["whole"] is None and not match["cents"]):
        raise ValueError(f"{text.strip()!r} is not an amount in dollars (e.g. 25 or 1,250.50)")
    whole = int((match["whole"] or "0").replace(",", ""))
    cents = int((match["cents"] or "0").ljust(2, "0"))
    total = whole * 100 + cents
    if total == 0 and not allow_zero:
        raise ValueError("the amount must be more than $0")
    return total


class MoneyInput(Input):
    """An Input for dollar amounts: only digits, '$', ',' and '.' can be typed."""

    def __init__(
        self,
        value: str = "",
        *,
        placeholder: str = "dollars, e.g. 25 or 1,250.50",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            value, placeholder=placeholder, restrict=r"[0-9$,.]*", id=id, classes=classes
        )

    def cents(self, *, allow_zero: bool = False) -> int:
        """The typed amount in cents; ValueError (with a readable message) if it is not one."""
        return parse_dollars(self.value, allow_zero=allow_zero)
