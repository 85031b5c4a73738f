"""Currency-transaction watch rules (DESIGN §4): pure functions over cents and settings."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class CtrStatus(StrEnum):
    OK = "ok"
    NEAR = "near"
    """Above the near-CTR fraction of the threshold: watch this patron."""
    DUE = "due"
    """Strictly above the threshold: a CTR must be filed."""


def ctr_status(total_cents: int, threshold_cents: int, near_fraction: Decimal) -> CtrStatus:
    """Cash-in and cash-out totals are judged separately, each with this rule."""
    if total_cents > threshold_cents:
        return CtrStatus.DUE
    if Decimal(total_cents) > Decimal(threshold_cents) * near_fraction:
        return CtrStatus.NEAR
    return CtrStatus.OK


def needs_mtl_line(amount_cents: int, mtl_floor_cents: int) -> bool:
    """Every single transaction at or above the floor gets a multiple-transaction-log line."""
    return amount_cents >= mtl_floor_cents
