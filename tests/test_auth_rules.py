"""The authentication rules across their paths, on both backends (DESIGN §3, §6).

tests/test_sign_in.py covers sign-in itself; here: the five-PIN lockout counted across
sign-in, the lock screen and approval prompts; the idle lock following the casino's
setting and opening only to the signed-in person; second-staff approval that the issuer
cannot satisfy; locked staff who cannot approve; a dealer who reaches only its own table.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update
from textual.widgets import Static

from pitterm.app import PitApp
from pitterm.domain import auth, casinos, floor, loyalty, slips
from pitterm.domain.auth import MAX_FAILED_ATTEMPTS, Credentials
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import StaffRole, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import AuditLog, LoyaltyLedger, Staff
from pitterm.screens.lock import LockScreen
from pitterm.screens.sign_in import SignInScreen
from tests.factories import CODES, PINS, CasinoWorld, build_casino, signed_in
from tests.floor_support import enrol, key, open_visit, start
from tests.promo_support import set_settings
from tests.test_app_shell import SIZE, drive, make_app, settle, sign_in_as, type_text


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def credentials(role: StaffRole, pin: str | None = None, code: str | None = None) -> Credentials:
    return Credentials(staff_code=code or CODES[role], pin=pin or PINS[role])


def staff_row(database: Database, world: CasinoWorld, role: StaffRole) -> tuple[bool, int]:
    """(locked, failed_attempts) of the world's staff member of ``role``."""
    with database.reader(world.scope) as uow:
        row = uow.session.execute(
            select(Staff.locked, Staff.failed_attempts).where(Staff.code == CODES[role])
        ).one()
        return row.locked, row.failed_attempts


def ledger_count(database: Database, world: CasinoWorld) -> int:
    with database.reader(world.scope) as uow:
        return uow.session.scalar(select(func.count()).select_from(LoyaltyLedger)) or 0


def refused(code: ErrorCode, call: Any, *args: Any) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args)
    assert raised.value.code is code, raised.value
    return raised.value


def overdrawn_comp(
    database: Database, world: CasinoWorld, actor_role: StaffRole, approver: Credentials | None
) -> loyalty.Redeemed:
    """A 100-point comp for a new player with no points: it always needs an approval."""
    actor = world.actor(actor_role)
    player = enrol(database, world.admin, "Ada", f"Lovelace{uuid.uuid4().hex[:6]}")
    return loyalty.redeem(
        database.uow(actor),
        actor,
        loyalty.Redeem(
            player_id=player,
            points=100,
            note="overdrawn comp",
            allow_overdraw=True,
            approver=approver,
            idempotency_key=key(),
        ),
    )


# -- five wrong PINs, whichever prompt they are typed at -------------------------------------


def test_wrong_pins_count_together_across_sign_in_lock_screen_and_approvals(
    backend: Database, world: CasinoWorld
) -> None:
    boss = world.actor(StaffRole.PIT_BOSS)
    wrong = credentials(StaffRole.PIT_BOSS, pin="0000")
    for _ in range(2):
        refused(ErrorCode.AUTH_INVALID_CREDENTIALS, signed_in, backend, world.casino, "PB1", "0000")
    refused(
        ErrorCode.AUTH_INVALID_CREDENTIALS, auth.reauthenticate, backend.uow(boss), boss, "0000"
    )
    error = refused(
        ErrorCode.AUTH_INVALID_CREDENTIALS,
        overdrawn_comp,
        backend,
        world,
        StaffRole.CASHIER,
        wrong,
    )
    assert error.details["attempts_left"] == 1
    assert staff_row(backend, world, StaffRole.PIT_BOSS) == (False, 4)
    # The fifth, at an approval prompt, locks the account: everywhere, even with the right PIN.
    refused(ErrorCode.AUTH_STAFF_LOCKED, overdrawn_comp, backend, world, StaffRole.CASHIER, wrong)
    assert staff_row(backend, world, StaffRole.PIT_BOSS) == (True, MAX_FAILED_ATTEMPTS)
    pin = PINS[StaffRole.PIT_BOSS]
    refused(ErrorCode.AUTH_STAFF_LOCKED, signed_in, backend, world.casino, "PB1", pin)
    refused(ErrorCode.AUTH_STAFF_LOCKED, auth.reauthenticate, backend.uow(boss), boss, pin)
    # No comp went through on a refused approval; only the failures were kept.
    assert ledger_count(backend, world) == 0


def test_a_malformed_pin_is_refused_without_counting(backend: Database, world: CasinoWorld) -> None:
    boss = world.actor(StaffRole.PIT_BOSS)
    for pin in ("12", "12345678901", "12ab", "١٢٣٤", "\x00\x00\x00\x00", "\ud800123"):
        error = refused(
            ErrorCode.VALIDATION_FAILED, auth.reauthenticate, backend.uow(boss), boss, pin
        )
        assert error.message.startswith("pin:")
    assert staff_row(backend, world, StaffRole.PIT_BOSS) == (False, 0)


# -- the idle lock --------------------------------------------------------------------------


def test_the_lock_screen_opens_only_for_the_signed_in_person(
    backend: Database, world: CasinoWorld
) -> None:
    """Another staff member's valid PIN does not unlock a pit boss's terminal: it counts as a
    wrong PIN against the pit boss, and the admin's account is untouched."""
    boss = world.actor(StaffRole.PIT_BOSS)
    refused(
        ErrorCode.AUTH_INVALID_CREDENTIALS,
        auth.reauthenticate,
        backend.uow(boss),
        boss,
        PINS[StaffRole.ADMIN],
    )
    assert staff_row(backend, world, StaffRole.PIT_BOSS) == (False, 1)
    assert staff_row(backend, world, StaffRole.ADMIN) == (False, 0)
    assert auth.reauthenticate(backend.uow(boss), boss, PINS[StaffRole.PIT_BOSS]) == boss
    assert staff_row(backend, world, StaffRole.PIT_BOSS) == (False, 0)


def test_the_idle_period_is_the_casinos_setting(backend: Database, world: CasinoWorld) -> None:
    other = build_casino(backend, "BETA")
    set_settings(backend, world.casino.id, idle_lock_minutes=2)
    boss = world.actor(StaffRole.PIT_BOSS)
    assert auth.terminal_status(backend.reader(boss), boss).idle_lock_minutes == 2
    beta_boss = other.actor(StaffRole.PIT_BOSS)
    assert auth.terminal_status(backend.reader(beta_boss), beta_boss).idle_lock_minutes == 5


@drive
async def test_the_terminal_locks_after_the_casinos_idle_period(sqlite_database: Database) -> None:
    world = build_casino(sqlite_database)
    set_settings(sqlite_database, world.casino.id, idle_lock_minutes=1)
    app = make_app(sqlite_database)
    app.idle_check_seconds = 0.05
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        assert app.idle_timeout == 60.0
        # 59 seconds without a key: still open. A minute: locked.
        app._last_input = time.monotonic() - 59
        await pilot.pause(0.3)
        assert not app.locked
        app._last_input = time.monotonic() - 60
        await pilot.pause(0.3)
        assert app.locked and isinstance(app.screen, LockScreen)
        # Another staff member's PIN does not open it.
        await type_text(pilot, PINS[StaffRole.ADMIN])
        await pilot.press("enter")
        await settle(pilot)
        assert app.locked and isinstance(app.screen, LockScreen)
        await type_text(pilot, PINS[StaffRole.PIT_BOSS])
        await pilot.press("enter")
        await settle(pilot)
        assert not app.locked and app.actor is not None
        assert app.actor.role is StaffRole.PIT_BOSS


# -- second-staff approval ------------------------------------------------------------------


ISSUE_WITHOUT_APPROVAL = [
    r
    for r in StaffRole
    if can(r, Capability.ISSUE_COMP) and not can(r, Capability.APPROVE_OVERDRAW)
]
ISSUE_AND_APPROVE = [
    r for r in StaffRole if can(r, Capability.ISSUE_COMP) and can(r, Capability.APPROVE_OVERDRAW)
]


@pytest.mark.parametrize("role", ISSUE_WITHOUT_APPROVAL, ids=str)
def test_an_issuer_without_authority_cannot_approve_their_own_overdraw(
    backend: Database, world: CasinoWorld, role: StaffRole
) -> None:
    for typed in (CODES[role], CODES[role].lower(), f" {CODES[role]} "):
        refused(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            overdrawn_comp,
            backend,
            world,
            role,
            credentials(role, code=typed),
        )
    assert ledger_count(backend, world) == 0


@pytest.mark.parametrize("role", ISSUE_AND_APPROVE, ids=str)
def test_four_eyes_refuses_the_issuer_as_their_own_approver(
    backend: Database, world: CasinoWorld, role: StaffRole
) -> None:
    set_settings(backend, world.casino.id, four_eyes_overdraw=True)
    refused(ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED, overdrawn_comp, backend, world, role, None)
    for typed in (CODES[role], CODES[role].lower(), f" {CODES[role]}"):
        error = refused(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            overdrawn_comp,
            backend,
            world,
            role,
            credentials(role, code=typed),
        )
        assert error.details["needs_approver"] is True
    assert ledger_count(backend, world) == 0
    other = StaffRole.ADMIN if role is StaffRole.PIT_BOSS else StaffRole.PIT_BOSS
    done = overdrawn_comp(backend, world, role, credentials(other))
    assert done.approved_by_staff_id == world.actor(other).staff_id
    assert done.approved_by_staff_id != world.actor(role).staff_id


# -- locked staff cannot approve ------------------------------------------------------------


def test_staff_locked_at_sign_in_cannot_approve_until_unlocked(
    backend: Database, world: CasinoWorld
) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(backend, world.casino, CODES[StaffRole.PIT_BOSS], "0000")
    assert staff_row(backend, world, StaffRole.PIT_BOSS) == (True, MAX_FAILED_ATTEMPTS)
    with backend.reader(world.scope) as uow:
        audit_rows = uow.session.scalar(select(func.count()).select_from(AuditLog))
    refused(
        ErrorCode.AUTH_STAFF_LOCKED,
        overdrawn_comp,
        backend,
        world,
        StaffRole.CASHIER,
        credentials(StaffRole.PIT_BOSS),
    )
    assert ledger_count(backend, world) == 0
    with backend.reader(world.scope) as uow:
        after = uow.session.scalar(select(func.count()).select_from(AuditLog))
    assert after == audit_rows + 1  # the new player's enrolment; nothing from the approval
    boss_id = world.actor(StaffRole.PIT_BOSS).staff_id
    auth.unlock_staff(backend.uow(world.admin), world.admin, boss_id)
    done = overdrawn_comp(backend, world, StaffRole.CASHIER, credentials(StaffRole.PIT_BOSS))
    assert done.approved_by_staff_id == boss_id


def test_another_casinos_staff_cannot_approve(backend: Database, world: CasinoWorld) -> None:
    beta = build_casino(backend, "BETA")
    beta_admin = beta.admin
    casinos.add_staff(
        backend.uow(beta_admin),
        beta_admin,
        casinos.NewStaff(code="BOSS9", name="Beta Boss", role=StaffRole.PIT_BOSS, pin="9090"),
    )
    assert signed_in(backend, beta.casino, "BOSS9", "9090").casino_id == beta.casino.id
    refused(
        ErrorCode.AUTH_INVALID_CREDENTIALS,
        overdrawn_comp,
        backend,
        world,
        StaffRole.CASHIER,
        Credentials(staff_code="BOSS9", pin="9090"),
    )
    assert ledger_count(backend, world) == 0


# -- a dealer and its table -----------------------------------------------------------------


def test_a_dealer_reaches_only_its_own_table(backend: Database, world: CasinoWorld) -> None:
    boss = world.actor(StaffRole.PIT_BOSS)
    dealer = world.actor(StaffRole.DEALER)
    own, other = world.table_ids
    here = start(
        backend,
        boss,
        open_visit(backend, boss, VisitKind.GAMING_IDENTIFIED_RATED, enrol(backend, boss)),
        own,
        seat=2,
    )
    there = start(
        backend,
        boss,
        open_visit(backend, boss, VisitKind.GAMING_GHOST_UNRATED, description="blue hat"),
        other,
        seat=4,
    )
    assert [t.id for t in floor.list_tables(backend.reader(dealer), dealer)] == [own]
    for filters in ({}, {"pit": "Pit 1"}, {"game_type": None}):
        view = floor.overview(backend.reader(dealer), dealer, **filters)
        assert [t.table.id for t in view.tables] == [own]
        assert [s.slip_id for t in view.tables for s in t.slips] == [here]
        assert view.visits == []  # no patron list beyond its own seats
    boss_view = floor.overview(backend.reader(boss), boss)
    assert {s.slip_id for t in boss_view.tables for s in t.slips} == {here, there}
    # Nothing else: not the other table's slip, nor even its own slip's suggestion.
    for slip_id in (there, here):
        refused(ErrorCode.AUTH_FORBIDDEN, slips.suggestion, backend.reader(dealer), dealer, slip_id)


def test_a_dealer_without_a_table_sees_no_table(backend: Database, world: CasinoWorld) -> None:
    """Its table's assignment gone (the staff row edited), a dealer sees nothing at all."""
    dealer = world.actor(StaffRole.DEALER)
    with backend.uow(Scope(world.casino.id)) as uow:
        staff = uow.session.get_one(Staff, dealer.staff_id)
        staff.assigned_table_id = None
        uow.commit()
    assert floor.list_tables(backend.reader(dealer), dealer) == []
    view = floor.overview(backend.reader(dealer), dealer)
    assert view.tables == [] and view.visits == []


# -- a sign-in ends when the account changes at another terminal -----------------------------


def audit_count(database: Database, world: CasinoWorld) -> int:
    with database.reader(world.scope) as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLog)) or 0


def test_a_deactivated_staff_member_can_do_nothing_more(
    backend: Database, world: CasinoWorld
) -> None:
    """Deactivated at the admin's terminal, the pit boss's sign-in at their own no longer
    acts: every later transaction, reading or writing, is refused before it does anything."""
    boss, admin = world.actor(StaffRole.PIT_BOSS), world.admin
    player = enrol(backend, admin)
    auth.set_staff_active(backend.uow(admin), admin, boss.staff_id, False)
    audits = audit_count(backend, world)
    error = refused(
        ErrorCode.AUTH_SESSION_ENDED,
        open_visit,
        backend,
        boss,
        VisitKind.GAMING_IDENTIFIED_RATED,
        player,
    )
    assert error.message == "Staff PB1 was deactivated; this terminal is signed out."
    refused(ErrorCode.AUTH_SESSION_ENDED, auth.terminal_status, backend.reader(boss), boss)
    assert audit_count(backend, world) == audits  # nothing written, not even an audit row
    auth.set_staff_active(backend.uow(admin), admin, boss.staff_id, True)
    assert open_visit(backend, boss, VisitKind.GAMING_IDENTIFIED_RATED, player)


def test_staff_locked_elsewhere_is_refused_with_their_own_code(
    backend: Database, world: CasinoWorld
) -> None:
    """Five wrong PINs typed for PB1 at another terminal lock the account; PB1's open
    sign-in is refused with AUTH_STAFF_LOCKED naming PB1 (so the terminal signs out), and a
    comp that PB1 issues is not written."""
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(backend, world.casino, "PB1", "0000")
    error = refused(
        ErrorCode.AUTH_STAFF_LOCKED, overdrawn_comp, backend, world, StaffRole.PIT_BOSS, None
    )
    assert error.details["staff_code"] == "PB1"
    assert ledger_count(backend, world) == 0


def test_a_role_changed_elsewhere_needs_a_new_sign_in(
    backend: Database, world: CasinoWorld
) -> None:
    """The capabilities a terminal checks are the role it signed in with: once the account's
    role is another, that sign-in is refused rather than acting with the old role."""
    boss = world.actor(StaffRole.PIT_BOSS)
    with backend.uow(world.scope) as uow:
        uow.session.execute(
            update(Staff).where(Staff.id == boss.staff_id).values(role=StaffRole.CASHIER)
        )
        uow.commit()
    error = refused(ErrorCode.AUTH_SESSION_ENDED, auth.terminal_status, backend.reader(boss), boss)
    assert "role changed" in error.message
    cashier = signed_in(backend, world.casino, "PB1", PINS[StaffRole.PIT_BOSS])
    assert cashier.role is StaffRole.CASHIER
    assert auth.terminal_status(backend.reader(cashier), cashier).role is StaffRole.CASHIER


def test_each_transaction_of_a_unit_of_work_checks_again(
    backend: Database, world: CasinoWorld
) -> None:
    """A unit of work that commits and goes on (a long import does) begins each transaction
    with the same check: a deactivation between two of them stops the second."""
    boss, admin = world.actor(StaffRole.PIT_BOSS), world.admin
    with backend.uow(boss) as uow:
        uow.session.scalar(select(func.count()).select_from(Staff))
        uow.commit()
        auth.set_staff_active(backend.uow(admin), admin, boss.staff_id, False)
        with pytest.raises(DomainError) as raised:
            uow.session.scalar(select(func.count()).select_from(Staff))
    assert raised.value.code is ErrorCode.AUTH_SESSION_ENDED


def assert_signed_out_as_deactivated(app: PitApp) -> None:
    """Nobody signed in, not locked, and the sign-in screen saying why."""
    assert app.actor is None and not app.locked
    assert isinstance(app.screen, SignInScreen)
    message = app.screen.query_one("#sign-in-message", Static)
    assert str(message.render()) == "Staff PB1 was deactivated; this terminal is signed out."


@drive
async def test_the_terminal_signs_out_when_its_staff_member_is_deactivated(
    sqlite_database: Database,
) -> None:
    world = build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        boss = app.actor
        assert boss is not None
        auth.set_staff_active(sqlite_database.uow(world.admin), world.admin, boss.staff_id, False)
        app._refresh_status()  # the header's periodic read, as any service call would be
        await settle(pilot)
        assert_signed_out_as_deactivated(app)


@drive
async def test_a_deactivated_staff_member_cannot_unlock_their_idle_terminal(
    sqlite_database: Database,
) -> None:
    """Idle-locked, then deactivated at the admin's terminal: the right PIN at the lock
    screen does not open it; the terminal signs out, saying why, and counts no failure."""
    world = build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        boss = app.actor
        assert boss is not None
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        auth.set_staff_active(sqlite_database.uow(world.admin), world.admin, boss.staff_id, False)
        await type_text(pilot, PINS[StaffRole.PIT_BOSS])
        await pilot.press("enter")
        await settle(pilot)
        assert_signed_out_as_deactivated(app)
    assert staff_row(sqlite_database, world, StaffRole.PIT_BOSS) == (False, 0)
