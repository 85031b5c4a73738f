"""Sign-in, lockout after five wrong PINs, unlock, re-authentication: on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pitterm.domain import auth
from pitterm.domain.auth import MAX_FAILED_ATTEMPTS, parse_credentials
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import AuditLog, Staff
from tests.factories import CODES, PINS, build_casino, signed_in


def test_sign_in_returns_actor_of_the_right_casino_and_role(backend: Database) -> None:
    world = build_casino(backend)
    actor = signed_in(backend, world.casino, "pb1", PINS[StaffRole.PIT_BOSS])
    assert actor.role is StaffRole.PIT_BOSS
    assert actor.casino_id == world.casino.id
    assert actor.staff_code == "PB1"


def test_five_wrong_pins_lock_the_account_with_audit_rows(backend: Database) -> None:
    world = build_casino(backend)
    code = CODES[StaffRole.CASHIER]
    for attempt in range(1, MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError) as wrong:
            signed_in(backend, world.casino, code, "9999")
        assert wrong.value.code is ErrorCode.AUTH_INVALID_CREDENTIALS
        assert wrong.value.details["attempts_left"] == MAX_FAILED_ATTEMPTS - attempt
    with pytest.raises(DomainError) as locked:
        signed_in(backend, world.casino, code, "9999")
    assert locked.value.code is ErrorCode.AUTH_STAFF_LOCKED
    # The right PIN no longer helps.
    with pytest.raises(DomainError) as still_locked:
        signed_in(backend, world.casino, code, PINS[StaffRole.CASHIER])
    assert still_locked.value.code is ErrorCode.AUTH_STAFF_LOCKED

    with backend.reader(world.scope) as uow:
        staff = uow.session.scalar(select(Staff).where(Staff.code == code))
        assert staff is not None and staff.locked and staff.failed_attempts == 5
        actions = uow.session.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == str(staff.id))
        ).all()
    assert actions.count("auth.pin_rejected") == 5
    assert actions.count("staff.locked") == 1


def test_a_right_pin_resets_the_failure_count(backend: Database) -> None:
    world = build_casino(backend)
    code, pin = CODES[StaffRole.PIT_BOSS], PINS[StaffRole.PIT_BOSS]
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(DomainError):
            signed_in(backend, world.casino, code, "0000")
    signed_in(backend, world.casino, code, pin)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(DomainError):
            signed_in(backend, world.casino, code, "0000")
    assert signed_in(backend, world.casino, code, pin).staff_code == code


def test_admin_unlocks_a_locked_account(backend: Database) -> None:
    world = build_casino(backend)
    code = CODES[StaffRole.DEALER]
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(backend, world.casino, code, "0000")
    staff = {s.code: s for s in auth.list_staff(backend.reader(world.admin), world.admin)}
    assert staff[code].locked
    info = auth.unlock_staff(backend.uow(world.admin), world.admin, staff[code].id)
    assert not info.locked and info.failed_attempts == 0
    assert signed_in(backend, world.casino, code, PINS[StaffRole.DEALER]).role is StaffRole.DEALER


def test_only_admins_unlock(backend: Database) -> None:
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    with pytest.raises(DomainError) as refused:
        auth.unlock_staff(backend.uow(boss), boss, boss.staff_id)
    assert refused.value.code is ErrorCode.AUTH_FORBIDDEN


def test_staff_codes_are_per_casino(backend: Database) -> None:
    alpha = build_casino(backend, "ALPHA")
    beta = build_casino(backend, "BETA")
    pin = PINS[StaffRole.PIT_BOSS]
    assert signed_in(backend, alpha.casino, "PB1", pin).casino_id == alpha.casino.id
    assert signed_in(backend, beta.casino, "PB1", pin).casino_id == beta.casino.id
    # Failures at one casino never count against the other's staff member.
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(backend, alpha.casino, "PB1", "0000")
    assert signed_in(backend, beta.casino, "PB1", pin).casino_id == beta.casino.id


def test_reauthenticate_counts_failures_like_sign_in(backend: Database) -> None:
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    assert auth.reauthenticate(backend.uow(boss), boss, PINS[StaffRole.PIT_BOSS]) == boss
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(DomainError):
            auth.reauthenticate(backend.uow(boss), boss, "0000")
    with pytest.raises(DomainError) as locked:
        auth.reauthenticate(backend.uow(boss), boss, "0000")
    assert locked.value.code is ErrorCode.AUTH_STAFF_LOCKED


@pytest.mark.parametrize(
    ("code", "pin", "field"),
    [("", "1234", "staff_code"), ("PB1", "12", "pin"), ("PB1", "12ab", "pin")],
)
def test_malformed_credentials_name_the_field(code: str, pin: str, field: str) -> None:
    with pytest.raises(DomainError) as bad:
        parse_credentials(code, pin)
    assert bad.value.code is ErrorCode.VALIDATION_FAILED
    assert bad.value.message.startswith(field)


def test_unknown_casino_code(backend: Database) -> None:
    with pytest.raises(DomainError) as missing:
        auth.find_casino(backend.uow(), "NOPE")
    assert missing.value.code is ErrorCode.CASINO_NOT_FOUND


def test_terminal_status_reports_gaming_day_in_casino_time(backend: Database) -> None:
    world = build_casino(backend)
    status = auth.terminal_status(backend.reader(world.admin), world.admin)
    # FROZEN_NOW is 12:00 in Los Angeles on 2026-11-21, after the 06:00 day start.
    assert status.gaming_day.isoformat() == "2026-11-21"
    assert status.idle_lock_minutes == 5
    dealer = world.actor(StaffRole.DEALER)
    assert auth.terminal_status(backend.reader(dealer), dealer).assigned_table == "BJ-01"


def test_audit_rows_count(backend: Database) -> None:
    world = build_casino(backend)
    with backend.reader(Scope(world.casino.id)) as uow:
        total = uow.session.scalar(select(func.count()).select_from(AuditLog))
    assert total is not None and total > 0
