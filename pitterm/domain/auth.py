"""Sign-in and staff accounts: PIN checks, lockout after repeated failures, unlock, approvers.

A terminal belongs to one casino; every function here runs in a unit of work scoped to it.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from pitterm.domain import audit
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.gaming_day import gaming_day
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.pins import MAX_FAILED_ATTEMPTS, hash_pin, locked_refusal, verify_pin
from pitterm.domain.tables import Casino, CasinoSettings, GamingTable, Staff
from pitterm.domain.validation import parse, storable_text


class Credentials(BaseModel):
    """What a person types at the sign-in prompt."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    staff_code: str
    pin: str

    @field_validator("staff_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not 1 <= len(value) <= 16:
            raise ValueError("enter your staff code (up to 16 characters)")
        return value.upper()

    @field_validator("pin")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not _pin_shaped(value):
            raise ValueError(PIN_SHAPE)
        return value


PIN_SHAPE = "a PIN is 4 to 8 digits"


def _pin_shaped(pin: str) -> bool:
    return 4 <= len(pin) <= 8 and pin.isascii() and pin.isdigit()


class CasinoInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    code: str
    name: str


class StaffInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    code: str
    name: str
    role: StaffRole
    locked: bool
    failed_attempts: int
    assigned_table: str | None
    active: bool = True
    """False once an admin deactivated the account: it can no longer sign in or approve."""


class ResetPin(BaseModel):
    """An admin sets a new PIN for a staff member (who forgot theirs, or was locked out)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    staff_id: uuid.UUID
    pin: str = Field(min_length=4, max_length=8, pattern=r"^[0-9]+$")
    idempotency_key: uuid.UUID


class PinReset(Outcome):
    staff: StaffInfo
    """The account after the reset: unlocked, no failed PINs."""


class TerminalStatus(BaseModel):
    """What the header shows, and the settings the shell itself needs."""

    model_config = ConfigDict(frozen=True)

    casino: CasinoInfo
    staff_name: str
    role: StaffRole
    gaming_day: date
    time_zone: str
    """The casino's IANA zone: every date and time on screen is shown in it."""
    idle_lock_minutes: int
    assigned_table: str | None


def parse_credentials(staff_code: str, pin: str) -> Credentials:
    """Validate typed credentials, turning pydantic's complaint into a domain error."""
    return parse(Credentials, {"staff_code": staff_code, "pin": pin})


def list_casinos(uow: UnitOfWork) -> list[CasinoInfo]:
    with uow:
        rows = uow.session.scalars(select(Casino).order_by(Casino.code)).all()
        return [CasinoInfo(id=c.id, code=c.code, name=c.name) for c in rows]


def find_casino(uow: UnitOfWork, code: str) -> CasinoInfo:
    wanted = storable_text(code.strip().upper(), "casino")
    with uow:
        casino = uow.session.scalar(select(Casino).where(Casino.code == wanted))
        if casino is None:
            raise DomainError(ErrorCode.CASINO_NOT_FOUND, f"No casino has the code {code!r}.")
        return CasinoInfo(id=casino.id, code=casino.code, name=casino.name)


def sign_in(uow: UnitOfWork, credentials: Credentials) -> Actor:
    """Check a staff code and PIN at the unit of work's casino and return the Actor.

    A wrong PIN counts against the account (committed even though the call fails); the
    fifth in a row locks it until an admin unlocks it. Unknown codes and wrong PINs get the
    same message so the prompt does not reveal which staff codes exist.
    """
    with uow:
        actor = authenticate(uow, credentials, action="auth.sign_in")
        uow.commit()
        return actor


def reauthenticate(uow: UnitOfWork, actor: Actor, pin: str) -> Actor:
    """Unlock an idle terminal: the signed-in staff member's PIN again, counted like sign-in."""
    if not _pin_shaped(pin):
        raise DomainError(ErrorCode.VALIDATION_FAILED, f"pin: {PIN_SHAPE}")
    with uow:
        staff = _staff_for_update(uow, actor.staff_code, staff_id=actor.staff_id)
        result = _check_pin(uow, staff, pin, action="auth.unlock_terminal")
        uow.commit()
        return result


def authenticate(uow: UnitOfWork, credentials: Credentials, *, action: str) -> Actor:
    """Prove who typed these credentials, inside the caller's open unit of work.

    Used for second-staff approvals within the approved change's own transaction. A wrong
    PIN is committed as a failure (ending that transaction) before the error is raised.
    """
    staff = _staff_for_update(uow, credentials.staff_code)
    return _check_pin(uow, staff, credentials.pin, action=action)


def _staff_for_update(uow: UnitOfWork, code: str, staff_id: uuid.UUID | None = None) -> Staff:
    scope = uow.scope
    if scope is None:
        raise RuntimeError("sign-in needs a unit of work scoped to the terminal's casino")
    query = select(Staff).where(Staff.casino_id == scope.casino_id, Staff.code == code.upper())
    if staff_id is not None:
        query = query.where(Staff.id == staff_id)
    # FOR NO KEY UPDATE: the approver's own terminal keeps writing rows that reference them
    # (opened_by, staff_id) meanwhile; a full FOR UPDATE would deadlock with those.
    staff = uow.session.scalar(query.with_for_update(key_share=True))
    if staff is None or not staff.active:
        raise _invalid()
    return staff


def _check_pin(uow: UnitOfWork, staff: Staff, pin: str, *, action: str) -> Actor:
    if staff.locked:
        raise _locked(staff)
    if not verify_pin(pin, staff.pin_hash):
        staff.failed_attempts += 1
        locked_now = staff.failed_attempts >= MAX_FAILED_ATTEMPTS
        audit.record(
            uow,
            casino_id=staff.casino_id,
            staff_id=staff.id,
            action="auth.pin_rejected",
            entity_type="staff",
            entity_id=staff.id,
            after={"failed_attempts": staff.failed_attempts, "during": action},
        )
        if locked_now:
            staff.locked = True
            staff.locked_at = uow.now()
            audit.record(
                uow,
                casino_id=staff.casino_id,
                staff_id=staff.id,
                action="staff.locked",
                entity_type="staff",
                entity_id=staff.id,
                before={"locked": False},
                after={"locked": True, "failed_attempts": staff.failed_attempts},
            )
        uow.commit()
        if locked_now:
            raise _locked(staff)
        left = MAX_FAILED_ATTEMPTS - staff.failed_attempts
        raise DomainError(
            ErrorCode.AUTH_INVALID_CREDENTIALS,
            f"Unknown staff code or wrong PIN. {left} attempt{'s' if left != 1 else ''} left"
            " before the account locks.",
            attempts_left=left,
        )
    if staff.failed_attempts:
        staff.failed_attempts = 0
    audit.record(
        uow,
        casino_id=staff.casino_id,
        staff_id=staff.id,
        action=action,
        entity_type="staff",
        entity_id=staff.id,
    )
    return Actor(
        staff_id=staff.id,
        casino_id=staff.casino_id,
        role=staff.role,
        staff_code=staff.code,
        display_name=staff.name,
    )


def _invalid() -> DomainError:
    return DomainError(ErrorCode.AUTH_INVALID_CREDENTIALS, "Unknown staff code or wrong PIN.")


def _locked(staff: Staff) -> DomainError:
    return locked_refusal(staff.code)


def list_staff(uow: UnitOfWork, actor: Actor) -> list[StaffInfo]:
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    with uow:
        rows = uow.session.execute(
            select(Staff, GamingTable.label)
            .outerjoin(GamingTable, GamingTable.id == Staff.assigned_table_id)
            .where(Staff.casino_id == actor.casino_id)
            .order_by(Staff.code)
        ).all()
        return [_staff_info(staff, label) for staff, label in rows]


def unlock_staff(uow: UnitOfWork, actor: Actor, staff_id: uuid.UUID) -> StaffInfo:
    """Clear a lockout (admin). Unlocking an account that is not locked changes nothing."""
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    with uow:
        staff = uow.session.scalar(
            select(Staff)
            .where(Staff.id == staff_id, Staff.casino_id == actor.casino_id)
            .with_for_update()
        )
        if staff is None:
            raise DomainError(ErrorCode.STAFF_NOT_FOUND, "No such staff member at this casino.")
        if staff.locked or staff.failed_attempts:
            before = {"locked": staff.locked, "failed_attempts": staff.failed_attempts}
            staff.locked = False
            staff.locked_at = None
            staff.failed_attempts = 0
            audit.record(
                uow,
                casino_id=actor.casino_id,
                staff_id=actor.staff_id,
                action="staff.unlocked",
                entity_type="staff",
                entity_id=staff.id,
                before=before,
                after={"locked": False, "failed_attempts": 0},
            )
        label = None
        if staff.assigned_table_id is not None:
            label = uow.session.scalar(
                select(GamingTable.label).where(GamingTable.id == staff.assigned_table_id)
            )
        info = _staff_info(staff, label)
        uow.commit()
        return info


def reset_pin(uow: UnitOfWork, actor: Actor, command: ResetPin) -> PinReset:
    """Give a staff member a new PIN (admin); it also clears failed PINs and any lockout.

    The audit row says that the PIN was reset, never what it is; neither does the stored
    request fingerprint carry it (a short PIN's hash is guessable).
    """
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    command = parse(ResetPin, command)

    def body() -> PinReset:
        staff = _managed_staff(uow, actor, command.staff_id)
        before = {"locked": staff.locked, "failed_attempts": staff.failed_attempts}
        staff.pin_hash = hash_pin(command.pin)
        staff.locked = False
        staff.locked_at = None
        staff.failed_attempts = 0
        uow.session.flush()
        audit.by(
            uow,
            actor,
            "staff.pin_reset",
            "staff",
            staff.id,
            before,
            {"locked": False, "failed_attempts": 0, "pin": "reset"},
        )
        return PinReset(staff=_staff_info(staff, _table_label(uow, staff)))

    return run_idempotent(
        uow,
        actor,
        operation="staff.pin_reset",
        key=command.idempotency_key,
        request=command.model_copy(update={"pin": ""}),
        result_type=PinReset,
        body=body,
    )


def set_staff_active(uow: UnitOfWork, actor: Actor, staff_id: uuid.UUID, active: bool) -> StaffInfo:
    """Deactivate a staff member (no sign-in, no approvals) or reactivate them (admin).

    Rows they wrote keep naming them. Asking for the state the account is already in
    changes nothing and writes no audit row, so a repeat is harmless. An admin cannot
    deactivate their own account (the casino would be left without the admin doing it).
    """
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    with uow:
        staff = _managed_staff(uow, actor, staff_id)
        if not active and staff.id == actor.staff_id:
            raise DomainError(
                ErrorCode.AUTH_FORBIDDEN,
                "You cannot deactivate your own account; another admin must.",
            )
        if staff.active != active:
            audit.by(
                uow,
                actor,
                "staff.reactivated" if active else "staff.deactivated",
                "staff",
                staff.id,
                {"active": staff.active},
                {"active": active},
            )
            staff.active = active
        info = _staff_info(staff, _table_label(uow, staff))
        uow.commit()
        return info


def _managed_staff(uow: UnitOfWork, actor: Actor, staff_id: uuid.UUID) -> Staff:
    """One of the actor's casino's staff, locked for the change (FOR NO KEY UPDATE, as the
    sign-in lock: rows referencing the member may be written meanwhile)."""
    staff = uow.session.scalar(
        select(Staff)
        .where(Staff.id == staff_id, Staff.casino_id == actor.casino_id)
        .with_for_update(key_share=True)
    )
    if staff is None:
        raise DomainError(ErrorCode.STAFF_NOT_FOUND, "No such staff member at this casino.")
    return staff


def _table_label(uow: UnitOfWork, staff: Staff) -> str | None:
    if staff.assigned_table_id is None:
        return None
    return uow.session.scalar(
        select(GamingTable.label).where(GamingTable.id == staff.assigned_table_id)
    )


def terminal_status(uow: UnitOfWork, actor: Actor) -> TerminalStatus:
    with uow:
        casino = uow.session.get_one(Casino, actor.casino_id)
        settings = uow.session.get_one(CasinoSettings, actor.casino_id)
        staff = uow.session.get_one(Staff, actor.staff_id)
        table = None
        if staff.assigned_table_id is not None:
            table = uow.session.scalar(
                select(GamingTable.label).where(GamingTable.id == staff.assigned_table_id)
            )
        return TerminalStatus(
            casino=CasinoInfo(id=casino.id, code=casino.code, name=casino.name),
            staff_name=staff.name,
            role=staff.role,
            gaming_day=gaming_day(uow.now(), settings.time_zone, settings.gaming_day_start),
            time_zone=settings.time_zone,
            idle_lock_minutes=settings.idle_lock_minutes,
            assigned_table=table,
        )


def _staff_info(staff: Staff, table_label: str | None) -> StaffInfo:
    return StaffInfo(
        id=staff.id,
        code=staff.code,
        name=staff.name,
        role=staff.role,
        locked=staff.locked,
        failed_attempts=staff.failed_attempts,
        assigned_table=table_label,
        active=staff.active,
    )
