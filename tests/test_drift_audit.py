"""The database drift audit: SQL summary and classes, and the drill-down, on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from pitterm.domain import drift, loyalty
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.drift_rules import Cause, DriftClass
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import PlayerLoyalty
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol, key


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def credit(database: Database, world: CasinoWorld, player: uuid.UUID, points: int) -> None:
    assert isinstance(database.clock, FixedClock)
    database.clock.advance(timedelta(minutes=5))
    loyalty.manual_credit(
        database.uow(world.admin),
        world.admin,
        loyalty.ManualCredit(player_id=player, points=points, note="t", idempotency_key=key()),
    )


def set_cached(database: Database, world: CasinoWorld, player: uuid.UUID, balance: int) -> None:
    with database.uow(world.scope) as uow:
        uow.session.execute(
            update(PlayerLoyalty)
            .where(PlayerLoyalty.player_id == player)
            .values(current_balance=balance)
        )
        uow.commit()


def test_summary_classes_and_extremes(backend: Database, world: CasinoWorld) -> None:
    admin = world.admin
    ok, minor, material, low, empty = (enrol(backend, admin, f"P{i}", "Test") for i in range(5))
    for player in (ok, minor, material, low):
        credit(backend, world, player, 100)
    set_cached(backend, world, minor, 150)  # +50: minor at tolerance 5 (≤ 50)
    set_cached(backend, world, material, 151)  # +51: material
    set_cached(backend, world, low, 70)  # -30: minor
    report = drift.audit(backend.reader(admin), admin, 5)
    s = report.summary
    assert (s.accounts_checked, s.in_balance, s.minor, s.material) == (5, 2, 2, 1)
    assert (s.largest_positive, s.largest_positive_account) == (51, "P2 Test")
    assert (s.largest_negative, s.largest_negative_account) == (-30, "P3 Test")
    assert [(a.player_name, a.drift, a.drift_class) for a in report.accounts] == [
        ("P2 Test", 51, DriftClass.MATERIAL),
        ("P1 Test", 50, DriftClass.MINOR),
        ("P3 Test", -30, DriftClass.MINOR),
    ]
    assert empty not in {a.player_id for a in report.accounts}
    only = drift.audit(backend.reader(admin), admin, 5, player_id=material)
    assert only.summary.accounts_checked == 1 and only.summary.material == 1


def test_all_in_balance(backend: Database, world: CasinoWorld) -> None:
    credit(backend, world, enrol(backend, world.admin), 10)
    report = drift.audit(backend.reader(world.admin), world.admin, 0)
    assert report.summary.in_balance == 1 and report.accounts == []
    assert report.summary.largest_positive is None and report.summary.largest_negative is None


def test_drill_down_explains_a_double_post(backend: Database, world: CasinoWorld) -> None:
    admin = world.admin
    player = enrol(backend, admin)
    for points in (100, 40, 25):
        credit(backend, world, player, points)
    set_cached(backend, world, player, 165 + 40)
    detail = drift.drill_down(backend.reader(admin), admin, player, 0)
    assert [e.running_balance for e in detail.timeline] == [100, 140, 165]
    assert (detail.cached, detail.computed, detail.drift) == (205, 165, 40)
    assert detail.cause is Cause.DOUBLE_POSTED
    assert detail.named_entry == detail.timeline[1].entry_id


def test_drill_down_finds_a_stale_snapshot(backend: Database, world: CasinoWorld) -> None:
    admin = world.admin
    player = enrol(backend, admin)
    for points in (100, 40, 25):
        credit(backend, world, player, points)
    set_cached(backend, world, player, 100)
    detail = drift.drill_down(backend.reader(admin), admin, player, 0)
    assert detail.cause is Cause.STALE_SNAPSHOT
    assert detail.diverged_after == detail.timeline[0].entry_id


def test_audit_is_role_checked_and_validates_tolerance(
    backend: Database, world: CasinoWorld
) -> None:
    cashier = world.actor(StaffRole.CASHIER)
    with pytest.raises(DomainError) as refused:
        drift.audit(backend.reader(cashier), cashier, 0)
    assert refused.value.code is ErrorCode.AUTH_FORBIDDEN
    with pytest.raises(DomainError) as bad:
        drift.audit(backend.reader(world.admin), world.admin, -1)
    assert bad.value.code is ErrorCode.DRIFT_TOLERANCE_INVALID


def test_other_casinos_are_not_audited(backend: Database, world: CasinoWorld) -> None:
    other = build_casino(backend, "BETA")
    player = enrol(backend, other.admin)
    set_cached(backend, other, player, 999)
    assert drift.audit(backend.reader(world.admin), world.admin, 0).summary.accounts_checked == 0
    with pytest.raises(DomainError):
        drift.drill_down(backend.reader(world.admin), world.admin, player, 0)


def test_incremental_reads_only_new_entries_and_agrees_with_full(
    backend: Database, world: CasinoWorld
) -> None:
    admin = world.admin
    players = [enrol(backend, admin, f"I{i}", "Inc") for i in range(3)]
    for player in players:
        credit(backend, world, player, 100)
    first = drift.audit_incremental(backend.uow(admin), admin, 0)  # no checkpoint yet: full
    assert (first.kind, first.scanned_entries) == (drift.AuditKind.FULL, 3)
    quiet = drift.audit_incremental(backend.uow(admin), admin, 0)  # nothing new since
    assert (quiet.kind, quiet.scanned_entries) == (drift.AuditKind.INCREMENTAL, 0)
    credit(backend, world, players[0], 7)
    set_cached(backend, world, players[1], 150)
    again = drift.audit_incremental(backend.uow(admin), admin, 0)
    full = drift.audit(backend.reader(admin), admin, 0)
    assert again.kind is drift.AuditKind.INCREMENTAL and again.scanned_entries == 1
    assert again.summary == full.summary
    assert again.accounts == full.accounts


def test_only_auditors_checkpoint(backend: Database, world: CasinoWorld) -> None:
    cashier = world.actor(StaffRole.CASHIER)
    with pytest.raises(DomainError) as refused:
        drift.audit_incremental(backend.uow(cashier), cashier, 0)
    assert refused.value.code is ErrorCode.AUTH_FORBIDDEN
