"""The closed vocabularies of the casino domain, shared by models, tables and screens."""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    DEALER = "dealer"
    FLOOR_SUPERVISOR = "floor_supervisor"
    PIT_BOSS = "pit_boss"
    CASHIER = "cashier"
    LOYALTY_MANAGER = "loyalty_manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


class GameType(StrEnum):
    BLACKJACK = "blackjack"
    BACCARAT = "baccarat"
    ROULETTE = "roulette"
    CRAPS = "craps"
    POKER = "poker"


class Rounding(StrEnum):
    """How fractional points round; seed 003 specifies half-up, a game may choose floor."""

    HALF_UP = "half_up"
    FLOOR = "floor"


class TableStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Tier(StrEnum):
    """Canonical loyalty tiers; declaration order is tier order (bronze lowest)."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"
    DIAMOND = "diamond"

    @property
    def rank(self) -> int:
        return list(Tier).index(self)


class VisitKind(StrEnum):
    REWARD_IDENTIFIED = "reward_identified"
    GAMING_IDENTIFIED_RATED = "gaming_identified_rated"
    GAMING_GHOST_UNRATED = "gaming_ghost_unrated"


class VisitStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SlipStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class LedgerReason(StrEnum):
    BASE_ACCRUAL = "base_accrual"
    PROMOTION = "promotion"
    MANUAL_REWARD = "manual_reward"
    REDEEM = "redeem"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"


class CashDirection(StrEnum):
    CASH_IN = "cash_in"
    CASH_OUT = "cash_out"
