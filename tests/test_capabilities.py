"""The role/capability matrix is DESIGN §3's table, cell for cell."""

from __future__ import annotations

import uuid

import pytest

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import MATRIX, Capability, can, capabilities_of, require
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode

# DESIGN §3, copied verbatim (✓ = allowed).
DESIGN_TABLE = """
| capability | dealer | floor_supervisor | pit_boss | cashier | loyalty_manager | admin |
|---|---|---|---|---|---|---|
| view floor, players, balances, ledger history | | ✓ | ✓ | ✓ | ✓ | ✓ |
| open/close/convert visits; start/update/pause/resume/move/close slips | | ✓ | ✓ | | | ✓ |
| record buy-in / cash-out on a visit | | ✓ | ✓ | ✓ | | ✓ |
| issue comp (redeem) | | | ✓ | ✓ | | ✓ |
| approve overdraw | | | ✓ | | | ✓ |
| manual credit | | | ✓ | | | ✓ |
| apply promotion to a slip | | | ✓ | | ✓ | ✓ |
| adjustment, reversal | | | | | | ✓ |
| associate a ghost visit with a player | | | ✓ | | | ✓ |
| issue match-play coupon | | ✓ | ✓ | | ✓ | ✓ |
| void / replace coupon; manage promo programs | | | ✓ | | ✓ | ✓ |
| import player CSV; apply/revert tier reconciliation | | | | | ✓ | ✓ |
| override a tier downgrade | | | | | | ✓ |
| run ledger drift audit | | ✓ | ✓ | | ✓ | ✓ |
| manage staff, casino settings | | | | | | ✓ |
"""

# Which Capability each row of the table is.
ROW_CAPABILITY = {
    "view floor, players, balances, ledger history": Capability.VIEW_FLOOR,
    "open/close/convert visits; start/update/pause/resume/move/close slips": (
        Capability.OPERATE_VISITS_SLIPS
    ),
    "record buy-in / cash-out on a visit": Capability.RECORD_CASH,
    "issue comp (redeem)": Capability.ISSUE_COMP,
    "approve overdraw": Capability.APPROVE_OVERDRAW,
    "manual credit": Capability.MANUAL_CREDIT,
    "apply promotion to a slip": Capability.APPLY_PROMOTION,
    "adjustment, reversal": Capability.ADJUST_REVERSE,
    "associate a ghost visit with a player": Capability.ASSOCIATE_GHOST,
    "issue match-play coupon": Capability.ISSUE_COUPON,
    "void / replace coupon; manage promo programs": Capability.MANAGE_PROMO,
    "import player CSV; apply/revert tier reconciliation": Capability.IMPORT_RECONCILE,
    "override a tier downgrade": Capability.OVERRIDE_DOWNGRADE,
    "run ledger drift audit": Capability.RUN_DRIFT_AUDIT,
    "manage staff, casino settings": Capability.MANAGE_STAFF_SETTINGS,
}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_design_table() -> tuple[list[StaffRole], dict[str, dict[StaffRole, bool]]]:
    header, _rule, *rows = [line for line in DESIGN_TABLE.strip().splitlines() if line]
    roles = [StaffRole(name) for name in _cells(header)[1:]]
    table: dict[str, dict[StaffRole, bool]] = {}
    for row in rows:
        label, *marks = _cells(row)
        assert len(marks) == len(roles), row
        assert set(marks) <= {"", "✓"}, row
        table[label] = {role: mark == "✓" for role, mark in zip(roles, marks, strict=True)}
    return roles, table


ROLES, EXPECTED_BY_ROW = parse_design_table()
EXPECTED: dict[Capability, dict[StaffRole, bool]] = {
    ROW_CAPABILITY[label]: allowed for label, allowed in EXPECTED_BY_ROW.items()
}


def actor(role: StaffRole) -> Actor:
    return Actor(staff_id=uuid.uuid4(), casino_id=uuid.uuid4(), role=role)


def test_table_covers_every_role_and_capability_exactly_once() -> None:
    assert sorted(ROLES) == sorted(StaffRole)
    assert len(EXPECTED_BY_ROW) == 15
    assert set(EXPECTED) == set(Capability)
    assert set(MATRIX) == set(Capability)


def test_capability_descriptions_are_the_design_rows() -> None:
    for label, capability in ROW_CAPABILITY.items():
        assert capability.description == label


@pytest.mark.parametrize("capability", list(Capability), ids=str)
def test_matrix_row_matches_design(capability: Capability) -> None:
    got = {role: can(role, capability) for role in ROLES}
    assert got == EXPECTED[capability]
    assert {role for role, allowed in EXPECTED[capability].items() if allowed} == MATRIX[capability]


def test_dealer_has_no_capability() -> None:
    assert capabilities_of(StaffRole.DEALER) == frozenset()
    for capability in Capability:
        assert not can(StaffRole.DEALER, capability)
        with pytest.raises(DomainError) as raised:
            require(actor(StaffRole.DEALER), capability)
        assert raised.value.code is ErrorCode.AUTH_FORBIDDEN


def test_admin_has_every_capability() -> None:
    assert capabilities_of(StaffRole.ADMIN) == frozenset(Capability)


@pytest.mark.parametrize("role", list(StaffRole), ids=str)
def test_capabilities_of_is_the_design_column(role: StaffRole) -> None:
    column = {capability for capability, allowed in EXPECTED.items() if allowed[role]}
    assert capabilities_of(role) == column


@pytest.mark.parametrize("role", list(StaffRole), ids=str)
def test_require_allows_exactly_the_design_column(role: StaffRole) -> None:
    who = actor(role)
    for capability, allowed in EXPECTED.items():
        if allowed[role]:
            assert require(who, capability) is None
        else:
            with pytest.raises(DomainError) as raised:
                require(who, capability)
            assert raised.value.code is ErrorCode.AUTH_FORBIDDEN, (role, capability)


def test_forbidden_message_names_the_role_and_the_action() -> None:
    with pytest.raises(DomainError) as raised:
        require(actor(StaffRole.CASHIER), Capability.ADJUST_REVERSE)
    error = raised.value
    assert error.code is ErrorCode.AUTH_FORBIDDEN
    assert "cashier" in error.message.lower()
    assert "adjustment, reversal" in error.message
    assert str(error).startswith("AUTH_FORBIDDEN: ")
    assert error.details == {"capability": "adjust_reverse", "role": "cashier"}


def test_forbidden_message_uses_the_human_role_label() -> None:
    with pytest.raises(DomainError) as raised:
        require(actor(StaffRole.FLOOR_SUPERVISOR), Capability.APPROVE_OVERDRAW)
    message = raised.value.message
    assert "floor supervisor" in message.lower()
    assert "floor_supervisor" not in message
    assert "approve overdraw" in message
