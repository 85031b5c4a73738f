"""How amounts read on screen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pitterm.widgets.formatting import dollars, percent


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0"), (1_000, "$10"), (500_000, "$5,000"), (1_250, "$12.50"), (-305, "-$3.05")],
)
def test_dollars(cents: int, text: str) -> None:
    assert dollars(cents) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [("1.5", "1.5%"), ("1.50", "1.5%"), ("0.25", "0.25%"), ("5", "5%"), ("100", "100%")],
)
def test_percent(value: str, text: str) -> None:
    assert percent(Decimal(value)) == text
