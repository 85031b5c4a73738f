"""The role/capability matrix of DESIGN §3, as data, with the one check every service uses."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from pitterm.domain.actor import Actor
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode


class Capability(StrEnum):
    VIEW_FLOOR = "view_floor"
    OPERATE_VISITS_SLIPS = "operate_visits_slips"
    RECORD_CASH = "record_cash"
    ISSUE_COMP = "issue_comp"
    APPROVE_OVERDRAW = "approve_overdraw"
    MANUAL_CREDIT = "manual_credit"
    APPLY_PROMOTION = "apply_promotion"
    ADJUST_REVERSE = "adjust_reverse"
    ASSOCIATE_GHOST = "associate_ghost"
    ISSUE_COUPON = "issue_coupon"
    MANAGE_PROMO = "manage_promo"
    IMPORT_RECONCILE = "import_reconcile"
    OVERRIDE_DOWNGRADE = "override_downgrade"
    RUN_DRIFT_AUDIT = "run_drift_audit"
    MANAGE_STAFF_SETTINGS = "manage_staff_settings"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: dict[Capability, str] = {
    Capability.VIEW_FLOOR: "view floor, players, balances, ledger history",
    Capability.OPERATE_VISITS_SLIPS: (
        "open/close/convert visits; start/update/pause/resume/move/close slips"
    ),
    Capability.RECORD_CASH: "record buy-in / cash-out on a visit",
    Capability.ISSUE_COMP: "issue comp (redeem)",
    Capability.APPROVE_OVERDRAW: "approve overdraw",
    Capability.MANUAL_CREDIT: "manual credit",
    Capability.APPLY_PROMOTION: "apply promotion to a slip",
    Capability.ADJUST_REVERSE: "adjustment, reversal",
    Capability.ASSOCIATE_GHOST: "associate a ghost visit with a player",
    Capability.ISSUE_COUPON: "issue match-play coupon",
    Capability.MANAGE_PROMO: "void / replace coupon; manage promo programs",
    Capability.IMPORT_RECONCILE: "import player CSV; apply/revert tier reconciliation",
    Capability.OVERRIDE_DOWNGRADE: "override a tier downgrade",
    Capability.RUN_DRIFT_AUDIT: "run ledger drift audit",
    Capability.MANAGE_STAFF_SETTINGS: "manage staff, casino settings",
}

_R = StaffRole
_FS, _PB, _CA, _LM, _AD = (
    _R.FLOOR_SUPERVISOR,
    _R.PIT_BOSS,
    _R.CASHIER,
    _R.LOYALTY_MANAGER,
    _R.ADMIN,
)

MATRIX: MappingProxyType[Capability, frozenset[StaffRole]] = MappingProxyType(
    {
        Capability.VIEW_FLOOR: frozenset({_FS, _PB, _CA, _LM, _AD}),
        Capability.OPERATE_VISITS_SLIPS: frozenset({_FS, _PB, _AD}),
        Capability.RECORD_CASH: frozenset({_FS, _PB, _CA, _AD}),
        Capability.ISSUE_COMP: frozenset({_PB, _CA, _AD}),
        Capability.APPROVE_OVERDRAW: frozenset({_PB, _AD}),
        Capability.MANUAL_CREDIT: frozenset({_PB, _AD}),
        Capability.APPLY_PROMOTION: frozenset({_PB, _LM, _AD}),
        Capability.ADJUST_REVERSE: frozenset({_AD}),
        Capability.ASSOCIATE_GHOST: frozenset({_PB, _AD}),
        Capability.ISSUE_COUPON: frozenset({_FS, _PB, _LM, _AD}),
        Capability.MANAGE_PROMO: frozenset({_PB, _LM, _AD}),
        Capability.IMPORT_RECONCILE: frozenset({_LM, _AD}),
        Capability.OVERRIDE_DOWNGRADE: frozenset({_AD}),
        Capability.RUN_DRIFT_AUDIT: frozenset({_FS, _PB, _LM, _AD}),
        Capability.MANAGE_STAFF_SETTINGS: frozenset({_AD}),
    }
)
"""capability → the roles allowed it. A dealer has none: it sees only its assigned table."""


def can(role: StaffRole, capability: Capability) -> bool:
    return role in MATRIX[capability]


def require(actor: Actor, capability: Capability) -> None:
    """Refuse with AUTH_FORBIDDEN unless the actor's role holds the capability."""
    if not can(actor.role, capability):
        raise DomainError(
            ErrorCode.AUTH_FORBIDDEN,
            f"A {actor.role.label.lower()} may not {capability.description}.",
            capability=capability.value,
            role=actor.role.value,
        )


def capabilities_of(role: StaffRole) -> frozenset[Capability]:
    return frozenset(cap for cap, roles in MATRIX.items() if role in roles)
