"""Every service operation × every role, against the capability matrix (DESIGN §3) as data.

The expectation is never written per role: an operation is allowed exactly when the role
holds its capability in ``capabilities.MATRIX``. Allowed calls are valid and must succeed;
refused ones must fail with AUTH_FORBIDDEN having written nothing (every table's row count
unchanged). The registry (tests/role_operations.py) is checked against the source, so a new
service operation without a role test fails here. One shared world per backend keeps it fast.
"""

from __future__ import annotations

import ast
import functools
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pitterm.domain import floor, loyalty
from pitterm.domain import reconciliation as recon
from pitterm.domain.capabilities import MATRIX, Capability, can
from pitterm.domain.enums import StaffRole, Tier
from pitterm.domain.errors import DomainError, ErrorCode
from tests.conftest import BACKENDS, fresh_database
from tests.role_operations import (
    DOMAIN,
    NOT_OPERATIONS,
    OPERATIONS,
    RoleWorld,
    approval_credentials,
    assigned_table,
    build_role_world,
    key,
    service_functions,
    table_counts,
)


@pytest.fixture(scope="module", params=BACKENDS)
def role_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RoleWorld]:
    """One world per backend for the whole module: each case prepares its own fresh rows."""
    folder = tmp_path_factory.mktemp("roles")
    with fresh_database(request, request.param, folder) as database:
        yield build_role_world(database, folder)


def _service(name: str) -> tuple[Any, str]:
    module, function = name.split(".")
    return importlib.import_module(f"pitterm.domain.{module}"), function


def _spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[object]:
    """Record calls of the named service (so a builder cannot call the wrong one)."""
    module, function = _service(name)
    real = getattr(module, function)
    calls: list[object] = []

    @functools.wraps(real)
    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, function, spy)
    return calls


CASES = [(name, role) for name in sorted(OPERATIONS) for role in StaffRole]


@pytest.mark.parametrize(("name", "role"), CASES, ids=[f"{n}-{r.value}" for n, r in CASES])
def test_operation_by_role(
    role_world: RoleWorld, monkeypatch: pytest.MonkeyPatch, name: str, role: StaffRole
) -> None:
    entry = OPERATIONS[name]
    actor = role_world.casino.actor(role)
    call = entry.build(role_world, actor)
    calls = _spy(monkeypatch, name)
    before = table_counts(role_world.db)
    if entry.access.allows(role):
        result = call()  # a valid call by an allowed role: any refusal is a failure
        assert calls, f"the builder for {name} did not call it"
        if role is StaffRole.DEALER and entry.access.dealer_own_table:
            _assert_only_own_table(role_world, result)
        return
    with pytest.raises(DomainError) as refused:
        call()
    assert calls, f"the builder for {name} did not call it"
    assert refused.value.code is ErrorCode.AUTH_FORBIDDEN, refused.value
    assert table_counts(role_world.db) == before, f"a refused {name} wrote rows"


def _assert_only_own_table(world: RoleWorld, result: object) -> None:
    dealer = world.casino.actor(StaffRole.DEALER)
    own = assigned_table(world.db, dealer)
    assert own is not None
    if isinstance(result, floor.FloorView):
        assert [t.table.id for t in result.tables] == [own]
        assert all(s.table_id == own for t in result.tables for s in t.slips)
        assert result.visits == []
    else:
        assert isinstance(result, list)
        assert [t.id for t in result] == [own]


@pytest.mark.parametrize("role", list(StaffRole), ids=str)
def test_overdraw_approval_by_role(role_world: RoleWorld, role: StaffRole) -> None:
    """A cashier's overdrawn comp is approved by a second staff member of each role in turn:
    accepted exactly when that role holds APPROVE_OVERDRAW; otherwise nothing is written."""
    world = role_world
    cashier = world.casino.actor(StaffRole.CASHIER)
    player = world.fresh_player()
    command = loyalty.Redeem(
        player_id=player,
        points=100,
        note="overdrawn comp",
        allow_overdraw=True,
        approver=approval_credentials(role),
        idempotency_key=key(),
    )
    before = table_counts(world.db)
    if can(role, Capability.APPROVE_OVERDRAW):
        done = loyalty.redeem(world.db.uow(cashier), cashier, command)
        assert done.overdraw_applied and done.balance_after == -100
        assert done.approved_by_staff_id == world.casino.actor(role).staff_id
        return
    with pytest.raises(DomainError) as refused:
        loyalty.redeem(world.db.uow(cashier), cashier, command)
    assert refused.value.code is ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED
    assert table_counts(world.db) == before


@pytest.mark.parametrize("role", list(StaffRole), ids=str)
def test_downgrade_override_by_role(role_world: RoleWorld, role: StaffRole) -> None:
    """A platinum player whose vendor tier maps to silver: applying the downgrade with a
    reason is allowed exactly to roles holding both IMPORT_RECONCILE and OVERRIDE_DOWNGRADE."""
    world = role_world
    actor = world.casino.actor(role)
    batch_id = world.fresh_recon_batch(tier=Tier.PLATINUM, label="Silver", maps_to=Tier.SILVER)
    command = world.apply_command(batch_id, override_reason="the vendor's tier is authoritative")
    before = table_counts(world.db)
    if can(role, Capability.IMPORT_RECONCILE) and can(role, Capability.OVERRIDE_DOWNGRADE):
        done = recon.apply(world.db.uow(actor), actor, command)
        assert (done.record.tier_before, done.record.tier_after) == (Tier.PLATINUM, Tier.SILVER)
        return
    with pytest.raises(DomainError) as refused:
        recon.apply(world.db.uow(actor), actor, command)
    assert refused.value.code is ErrorCode.AUTH_FORBIDDEN, refused.value
    assert table_counts(world.db) == before


# -- the registry is complete and honest ---------------------------------------------------


def test_every_service_operation_has_a_role_test() -> None:
    """A public domain function taking an actor (or checking a capability) is an operation:
    it needs a registry entry, or a reason in NOT_OPERATIONS. Stale entries fail too."""
    found = service_functions()
    missing = sorted(found - set(OPERATIONS) - set(NOT_OPERATIONS))
    assert not missing, f"operations without a role test in tests/role_operations.py: {missing}"
    stale = sorted((set(OPERATIONS) | set(NOT_OPERATIONS)) - found)
    assert not stale, f"registry entries naming no service function: {stale}"
    assert not set(OPERATIONS) & set(NOT_OPERATIONS)


def test_registry_names_real_functions() -> None:
    for name in OPERATIONS:
        module, function = _service(name)
        assert callable(getattr(module, function, None)), name


def _capabilities_used_by_services() -> set[Capability]:
    used: set[Capability] = set()
    for path in sorted(Path(DOMAIN).glob("*.py")):
        if path.stem == "capabilities":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Capability"
            ):
                used.add(Capability[node.attr])
    return used


def test_every_capability_a_service_checks_is_exercised() -> None:
    exercised = {c for op in OPERATIONS.values() for c in op.access.any_of}
    exercised.add(Capability.APPROVE_OVERDRAW)  # test_overdraw_approval_by_role
    exercised.add(Capability.OVERRIDE_DOWNGRADE)  # test_downgrade_override_by_role
    assert _capabilities_used_by_services() <= exercised
    assert exercised <= set(MATRIX)


def test_the_matrix_decides_both_ways() -> None:
    """Sanity of the expectations themselves: every role is refused somewhere except the
    admin, and every operation except self-service is refused to someone."""
    for role in StaffRole:
        refused = [n for n, op in OPERATIONS.items() if not op.access.allows(role)]
        assert bool(refused) is (role is not StaffRole.ADMIN), role
    for name, op in OPERATIONS.items():
        if not op.access.everyone:
            assert not op.access.allows(StaffRole.DEALER) or op.access.dealer_own_table, name
