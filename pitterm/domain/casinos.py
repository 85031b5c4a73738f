"""Casino setup: casinos and their settings, games, tables and staff.

Creating a casino is an owner's job (CLI, demo seeding), done outside any casino scope;
everything after the first admin is an admin's job through ``require(MANAGE_STAFF_SETTINGS)``.
"""

from __future__ import annotations

import uuid
from datetime import date, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import exists, select

from pitterm.domain import audit
from pitterm.domain.actor import Actor
from pitterm.domain.auth import CasinoInfo
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import GameType, Rounding, StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.gaming_day import gaming_day
from pitterm.domain.pins import hash_pin
from pitterm.domain.tables import Casino, CasinoSettings, GameSettings, GamingTable, Staff
from pitterm.domain.validation import parse


class NewCasino(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Z0-9_-]+$")
    name: str = Field(min_length=1, max_length=120)
    time_zone: str = "America/Los_Angeles"
    gaming_day_start: time = time(6, 0)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value


class NewStaff(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=120)
    role: StaffRole
    pin: str = Field(min_length=4, max_length=8, pattern=r"^[0-9]+$")
    assigned_table_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _dealers_have_tables(self) -> NewStaff:
        if self.role is StaffRole.DEALER and self.assigned_table_id is None:
            raise ValueError("a dealer must be assigned to a table")
        return self


class NewGame(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=60)
    game_type: GameType
    house_edge: Decimal = Field(ge=0, le=100, allow_inf_nan=False)
    decisions_per_hour: int = Field(gt=0, le=1000)
    points_conversion_rate: Decimal = Field(ge=0, le=10_000, allow_inf_nan=False)
    rounding: Rounding = Rounding.HALF_UP
    policy_version: str = Field(default="loyalty_points_v1", min_length=1, max_length=40)
    min_bet_cents: int = Field(gt=0)
    max_bet_cents: int = Field(gt=0)

    @model_validator(mode="after")
    def _limits(self) -> NewGame:
        if self.max_bet_cents < self.min_bet_cents:
            raise ValueError("max bet must not be below min bet")
        return self


class NewTable(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=16)
    pit: str = Field(min_length=1, max_length=32)
    game_settings_id: uuid.UUID
    seats: int = Field(ge=1, le=14)


def create_casino(uow: UnitOfWork, new: NewCasino) -> CasinoInfo:
    """Create a casino with default settings (owner operation: no casino scope yet)."""
    new = parse(NewCasino, new)
    with uow:
        code = new.code.upper()
        if uow.session.scalar(select(exists().where(Casino.code == code))):
            raise DomainError(ErrorCode.VALIDATION_FAILED, f"code: casino {code} already exists")
        casino = Casino(id=uuid.uuid4(), code=code, name=new.name, created_at=uow.now())
        uow.session.add(casino)
        uow.session.flush()
        uow.session.add(
            CasinoSettings(
                casino_id=casino.id,
                time_zone=new.time_zone,
                gaming_day_start=new.gaming_day_start,
            )
        )
        audit.record(
            uow,
            casino_id=casino.id,
            staff_id=None,
            action="casino.created",
            entity_type="casino",
            entity_id=casino.id,
            after={"code": code, "name": new.name, "time_zone": new.time_zone},
        )
        uow.commit()
        return CasinoInfo(id=casino.id, code=casino.code, name=casino.name)


def bootstrap_admin(uow: UnitOfWork, casino_id: uuid.UUID, new: NewStaff) -> uuid.UUID:
    """The casino's first admin (owner operation); refused once the casino has an admin."""
    new = parse(NewStaff, new)
    if new.role is not StaffRole.ADMIN:
        raise DomainError(ErrorCode.VALIDATION_FAILED, "role: the first staff member is an admin")
    with uow:
        has_admin = uow.session.scalar(
            select(exists().where(Staff.casino_id == casino_id, Staff.role == StaffRole.ADMIN))
        )
        if has_admin:
            raise DomainError(ErrorCode.AUTH_FORBIDDEN, "This casino already has an admin.")
        staff_id = _insert_staff(uow, casino_id, None, new)
        uow.commit()
        return staff_id


def add_staff(uow: UnitOfWork, actor: Actor, new: NewStaff) -> uuid.UUID:
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    new = parse(NewStaff, new)
    with uow:
        staff_id = _insert_staff(uow, actor.casino_id, actor.staff_id, new)
        uow.commit()
        return staff_id


def _insert_staff(
    uow: UnitOfWork, casino_id: uuid.UUID, by: uuid.UUID | None, new: NewStaff
) -> uuid.UUID:
    code = new.code.upper()
    taken = uow.session.scalar(
        select(exists().where(Staff.casino_id == casino_id, Staff.code == code))
    )
    if taken:
        raise DomainError(ErrorCode.STAFF_CODE_TAKEN, f"code: staff code {code} is already used.")
    if new.assigned_table_id is not None:
        _table_in_casino(uow, casino_id, new.assigned_table_id)
    staff = Staff(
        id=uuid.uuid4(),
        casino_id=casino_id,
        code=code,
        name=new.name,
        role=new.role,
        pin_hash=hash_pin(new.pin),
        failed_attempts=0,
        locked=False,
        active=True,
        assigned_table_id=new.assigned_table_id,
        created_at=uow.now(),
    )
    uow.session.add(staff)
    audit.record(
        uow,
        casino_id=casino_id,
        staff_id=by,
        action="staff.created",
        entity_type="staff",
        entity_id=staff.id,
        after={"code": code, "name": new.name, "role": new.role.value},
    )
    return staff.id


def add_game(uow: UnitOfWork, actor: Actor, new: NewGame) -> uuid.UUID:
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    new = parse(NewGame, new)
    with uow:
        game = GameSettings(id=uuid.uuid4(), casino_id=actor.casino_id, **new.model_dump())
        uow.session.add(game)
        audit.record(
            uow,
            casino_id=actor.casino_id,
            staff_id=actor.staff_id,
            action="game_settings.created",
            entity_type="game_settings",
            entity_id=game.id,
            after=new.model_dump(mode="json"),
        )
        uow.commit()
        return game.id


def add_table(uow: UnitOfWork, actor: Actor, new: NewTable) -> uuid.UUID:
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    new = parse(NewTable, new)
    with uow:
        game = uow.session.scalar(
            select(GameSettings).where(
                GameSettings.id == new.game_settings_id,
                GameSettings.casino_id == actor.casino_id,
            )
        )
        if game is None:
            raise DomainError(ErrorCode.VALIDATION_FAILED, "game: no such game at this casino")
        label_taken = uow.session.scalar(
            select(
                exists().where(
                    GamingTable.casino_id == actor.casino_id, GamingTable.label == new.label
                )
            )
        )
        if label_taken:
            raise DomainError(ErrorCode.VALIDATION_FAILED, f"label: table {new.label} exists")
        table = GamingTable(id=uuid.uuid4(), casino_id=actor.casino_id, **new.model_dump())
        uow.session.add(table)
        audit.record(
            uow,
            casino_id=actor.casino_id,
            staff_id=actor.staff_id,
            action="gaming_table.created",
            entity_type="gaming_table",
            entity_id=table.id,
            after=new.model_dump(mode="json"),
        )
        uow.commit()
        return table.id


def _table_in_casino(uow: UnitOfWork, casino_id: uuid.UUID, table_id: uuid.UUID) -> None:
    found = uow.session.scalar(
        select(exists().where(GamingTable.id == table_id, GamingTable.casino_id == casino_id))
    )
    if not found:
        raise DomainError(ErrorCode.VALIDATION_FAILED, "table: no such table at this casino")


__all__ = [
    "NewCasino",
    "NewGame",
    "NewStaff",
    "NewTable",
    "add_game",
    "add_staff",
    "add_table",
    "bootstrap_admin",
    "create_casino",
    "current_gaming_day",
    "load_settings",
]


def load_settings(uow: UnitOfWork, casino_id: uuid.UUID) -> CasinoSettings:
    return uow.session.get_one(CasinoSettings, casino_id)


def current_gaming_day(uow: UnitOfWork, casino_id: uuid.UUID) -> date:
    settings = load_settings(uow, casino_id)
    return gaming_day(uow.now(), settings.time_zone, settings.gaming_day_start)
