"""Casino setup: casinos and their settings, games, tables and staff.

Creating a casino is an owner's job (CLI, demo seeding), done outside any casino scope;
everything after the first admin is an admin's job through ``require(MANAGE_STAFF_SETTINGS)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
from pitterm.domain.enums import GameType, Rounding, StaffRole, TableStatus
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.gaming_day import gaming_day
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.pins import hash_pin
from pitterm.domain.tables import Casino, CasinoSettings, GameSettings, GamingTable, Staff
from pitterm.domain.validation import parse

MAX_POINTS = 10_000_000
"""The largest points figure a setting takes (as loyalty's largest single movement)."""
MAX_CENTS = 10_000_000_000
"""$100,000,000.00: the largest money figure a setting or table limit takes."""


def known_zone(value: str) -> str:
    """``value`` if it names an IANA time zone; ValueError otherwise."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: name too long
        raise ValueError(f"unknown time zone {value!r}") from error
    return value


class NewCasino(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Z0-9_-]+$")
    name: str = Field(min_length=1, max_length=120)
    time_zone: str = Field(default="America/Los_Angeles", max_length=64)
    gaming_day_start: time = time(6, 0)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


class NewStaff(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=120)
    role: StaffRole
    pin: str = Field(min_length=4, max_length=8, pattern=r"^[0-9]+$")
    assigned_table_id: uuid.UUID | None = None
    idempotency_key: uuid.UUID | None = None
    """A form's key: a repeat returns the first outcome. None (setup scripts): not keyed."""

    @model_validator(mode="after")
    def _dealers_have_tables(self) -> NewStaff:
        if self.role is StaffRole.DEALER and self.assigned_table_id is None:
            raise ValueError("a dealer must be assigned to a table")
        return self


class NewGame(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=60)
    game_type: GameType
    # decimal_places: the columns' scale (numeric(6,3), numeric(10,4)); more would be
    # rounded silently by Postgres and kept by SQLite, and the two would accrue differently.
    house_edge: Decimal = Field(ge=0, le=100, decimal_places=3, allow_inf_nan=False)
    decisions_per_hour: int = Field(gt=0, le=1000)
    points_conversion_rate: Decimal = Field(ge=0, le=10_000, decimal_places=4, allow_inf_nan=False)
    rounding: Rounding = Rounding.HALF_UP
    policy_version: str = Field(default="loyalty_points_v1", min_length=1, max_length=40)
    min_bet_cents: int = Field(gt=0, le=MAX_CENTS)
    max_bet_cents: int = Field(gt=0, le=MAX_CENTS)
    idempotency_key: uuid.UUID | None = None
    """A form's key: a repeat returns the first outcome. None (setup scripts): not keyed."""

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
    idempotency_key: uuid.UUID | None = None
    """A form's key: a repeat returns the first outcome. None (setup scripts): not keyed."""


class TableRef(BaseModel):
    """A gaming table as the admin's game list shows it."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    label: str
    pit: str
    seats: int
    status: TableStatus


class GameView(BaseModel):
    """A game, its accrual policy and limits, and the tables that deal it."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    game_type: GameType
    house_edge: Decimal
    decisions_per_hour: int
    points_conversion_rate: Decimal
    rounding: Rounding
    policy_version: str
    min_bet_cents: int
    max_bet_cents: int
    tables: list[TableRef]


class SettingsView(BaseModel):
    """A casino's settings row (DESIGN §4–§9 thresholds), as the admin edits it."""

    model_config = ConfigDict(frozen=True)

    time_zone: str
    gaming_day_start: time
    overdraw_cap_points: int
    four_eyes_overdraw: bool
    idle_lock_minutes: int
    freshness_threshold_days: int
    ctr_threshold_cents: int
    near_ctr_fraction: Decimal
    mtl_floor_cents: int
    promo_require_exact_match: bool
    promo_allow_anonymous_issuance: bool
    promo_void_rate_alert: Decimal
    promo_expiry_alert_hours: int
    promo_spike_mad_k: Decimal
    promo_spike_min_history_days: int


SETTING_FIELDS: tuple[str, ...] = tuple(SettingsView.model_fields)
"""Every editable setting, in the order the form shows them."""


class SettingsChange(BaseModel):
    """The settings to change; a field left None keeps its value (so two admins editing
    different settings at once do not undo each other)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    time_zone: str | None = Field(default=None, max_length=64)
    gaming_day_start: time | None = None
    overdraw_cap_points: int | None = Field(default=None, ge=0, le=MAX_POINTS)
    four_eyes_overdraw: bool | None = None
    idle_lock_minutes: int | None = Field(default=None, ge=1, le=240)
    freshness_threshold_days: int | None = Field(default=None, ge=1, le=3650)
    ctr_threshold_cents: int | None = Field(default=None, gt=0, le=MAX_CENTS)
    near_ctr_fraction: Decimal | None = Field(
        default=None, gt=0, lt=1, decimal_places=4, allow_inf_nan=False
    )
    mtl_floor_cents: int | None = Field(default=None, gt=0, le=MAX_CENTS)
    promo_require_exact_match: bool | None = None
    promo_allow_anonymous_issuance: bool | None = None
    promo_void_rate_alert: Decimal | None = Field(
        default=None, ge=0, le=1, decimal_places=4, allow_inf_nan=False
    )
    promo_expiry_alert_hours: int | None = Field(default=None, ge=1, le=720)
    promo_spike_mad_k: Decimal | None = Field(
        default=None, ge=0, le=100, decimal_places=3, allow_inf_nan=False
    )
    promo_spike_min_history_days: int | None = Field(default=None, ge=1, le=7)
    idempotency_key: uuid.UUID

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else known_zone(value)

    @field_validator("gaming_day_start")
    @classmethod
    def _whole_minute(cls, value: time | None) -> time | None:
        if value is not None and (value.second or value.microsecond or value.tzinfo):
            raise ValueError("a local time in hours and minutes, e.g. 06:00")
        return value


class SettingsSaved(Outcome):
    settings: SettingsView
    changed: list[str]
    """The settings that changed (empty when every value was already as asked)."""


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
    """A new staff member (admin), with an initial PIN; a dealer needs its table."""
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    new = parse(NewStaff, new)
    return _add(
        uow,
        actor,
        operation="staff.create",
        key=new.idempotency_key,
        # The PIN never reaches the stored request fingerprint (a short PIN's hash is guessable).
        request=new.model_copy(update={"pin": ""}),
        insert=lambda: _insert_staff(uow, actor.casino_id, actor.staff_id, new),
    )


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
        after={
            "code": code,
            "name": new.name,
            "role": new.role.value,
            "assigned_table_id": (
                None if new.assigned_table_id is None else str(new.assigned_table_id)
            ),
        },
    )
    return staff.id


def add_game(uow: UnitOfWork, actor: Actor, new: NewGame) -> uuid.UUID:
    """A game and its accrual policy (admin). Slips freeze the policy when they start."""
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    new = parse(NewGame, new)

    def insert() -> uuid.UUID:
        name_taken = uow.session.scalar(
            select(
                exists().where(
                    GameSettings.casino_id == actor.casino_id, GameSettings.name == new.name
                )
            )
        )
        if name_taken:
            raise DomainError(
                ErrorCode.VALIDATION_FAILED, f"name: there is already a game called {new.name}"
            )
        fields = new.model_dump(exclude={"idempotency_key"})
        game = GameSettings(id=uuid.uuid4(), casino_id=actor.casino_id, **fields)
        uow.session.add(game)
        audit.by(
            uow,
            actor,
            "game_settings.created",
            "game_settings",
            game.id,
            after=new.model_dump(mode="json", exclude={"idempotency_key"}),
        )
        return game.id

    return _add(
        uow, actor, operation="game.create", key=new.idempotency_key, request=new, insert=insert
    )


def add_table(uow: UnitOfWork, actor: Actor, new: NewTable) -> uuid.UUID:
    """A gaming table of one of the casino's games (admin); labels are unique per casino."""
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    new = parse(NewTable, new)

    def insert() -> uuid.UUID:
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
        fields = new.model_dump(exclude={"idempotency_key"})
        table = GamingTable(id=uuid.uuid4(), casino_id=actor.casino_id, **fields)
        uow.session.add(table)
        audit.by(
            uow,
            actor,
            "gaming_table.created",
            "gaming_table",
            table.id,
            after=new.model_dump(mode="json", exclude={"idempotency_key"}),
        )
        return table.id

    return _add(
        uow, actor, operation="table.create", key=new.idempotency_key, request=new, insert=insert
    )


class Added(Outcome):
    """What a keyed setup call stores: the new row's id."""

    id: uuid.UUID


def _add(
    uow: UnitOfWork,
    actor: Actor,
    *,
    operation: str,
    key: uuid.UUID | None,
    request: BaseModel,
    insert: Callable[[], uuid.UUID],
) -> uuid.UUID:
    """Run ``insert`` in one transaction: once per key when a form sent one, else plainly."""
    if key is None:
        with uow:
            new_id = insert()
            uow.commit()
            return new_id
    return run_idempotent(
        uow,
        actor,
        operation=operation,
        key=key,
        request=request,
        result_type=Added,
        body=lambda: Added(id=insert()),
    ).id


def list_games(uow: UnitOfWork, actor: Actor) -> list[GameView]:
    """The casino's games with their policies and tables, by name (admin)."""
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    with uow:
        games = uow.session.scalars(
            select(GameSettings)
            .where(GameSettings.casino_id == actor.casino_id)
            .order_by(GameSettings.name)
        ).all()
        tables: dict[uuid.UUID, list[TableRef]] = {}
        for table in uow.session.scalars(
            select(GamingTable)
            .where(GamingTable.casino_id == actor.casino_id)
            .order_by(GamingTable.label)
        ):
            tables.setdefault(table.game_settings_id, []).append(
                TableRef(
                    id=table.id,
                    label=table.label,
                    pit=table.pit,
                    seats=table.seats,
                    status=table.status,
                )
            )
        return [
            GameView(
                id=game.id,
                name=game.name,
                game_type=game.game_type,
                house_edge=game.house_edge,
                decisions_per_hour=game.decisions_per_hour,
                points_conversion_rate=game.points_conversion_rate,
                rounding=game.rounding,
                policy_version=game.policy_version,
                min_bet_cents=game.min_bet_cents,
                max_bet_cents=game.max_bet_cents,
                tables=tables.get(game.id, []),
            )
            for game in games
        ]


def read_settings(uow: UnitOfWork, actor: Actor) -> SettingsView:
    """The casino's settings as they stand (admin: what the settings form starts from)."""
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    with uow:
        return _settings_view(load_settings(uow, actor.casino_id))


def update_settings(uow: UnitOfWork, actor: Actor, change: SettingsChange) -> SettingsSaved:
    """Change some of the casino's settings (admin), audited with each value before and after.

    Only the fields the change names are written; values equal to the stored ones change
    nothing (no audit row). The settings row is locked, so concurrent edits queue.
    """
    require(actor, Capability.MANAGE_STAFF_SETTINGS)
    change = parse(SettingsChange, change)

    def body() -> SettingsSaved:
        row = uow.session.scalar(
            select(CasinoSettings)
            .where(CasinoSettings.casino_id == actor.casino_id)
            .with_for_update()
        )
        if row is None:  # every casino gets its row at creation
            raise DomainError(ErrorCode.CASINO_NOT_FOUND, "This casino has no settings row.")
        before = _settings_view(row)
        wanted = {
            name: value
            for name, value in change.model_dump(exclude={"idempotency_key"}).items()
            if value is not None
        }
        merged = before.model_copy(update=wanted)
        if merged.mtl_floor_cents > merged.ctr_threshold_cents:
            raise DomainError(
                ErrorCode.VALIDATION_FAILED,
                "mtl_floor_cents: the MTL floor may not be above the CTR threshold"
                f" (${merged.ctr_threshold_cents / 100:,.2f})",
                errors=[{"field": "mtl_floor_cents", "message": "above the CTR threshold"}],
            )
        changed = [n for n in SETTING_FIELDS if n in wanted and wanted[n] != getattr(before, n)]
        if changed:
            for name in changed:
                setattr(row, name, wanted[name])
            uow.session.flush()
            old, new = before.model_dump(mode="json"), merged.model_dump(mode="json")
            audit.by(
                uow,
                actor,
                "casino_settings.updated",
                "casino_settings",
                actor.casino_id,
                {name: old[name] for name in changed},
                {name: new[name] for name in changed},
            )
        return SettingsSaved(settings=_settings_view(row), changed=changed)

    return run_idempotent(
        uow,
        actor,
        operation="casino.settings_update",
        key=change.idempotency_key,
        request=change,
        result_type=SettingsSaved,
        body=body,
    )


def _settings_view(row: CasinoSettings) -> SettingsView:
    return SettingsView.model_validate({name: getattr(row, name) for name in SETTING_FIELDS})


def _table_in_casino(uow: UnitOfWork, casino_id: uuid.UUID, table_id: uuid.UUID) -> None:
    found = uow.session.scalar(
        select(exists().where(GamingTable.id == table_id, GamingTable.casino_id == casino_id))
    )
    if not found:
        raise DomainError(ErrorCode.VALIDATION_FAILED, "table: no such table at this casino")


__all__ = [
    "SETTING_FIELDS",
    "Added",
    "GameView",
    "NewCasino",
    "NewGame",
    "NewStaff",
    "NewTable",
    "SettingsChange",
    "SettingsSaved",
    "SettingsView",
    "TableRef",
    "add_game",
    "add_staff",
    "add_table",
    "bootstrap_admin",
    "create_casino",
    "current_gaming_day",
    "known_zone",
    "list_games",
    "load_settings",
    "read_settings",
    "update_settings",
]


def load_settings(uow: UnitOfWork, casino_id: uuid.UUID) -> CasinoSettings:
    return uow.session.get_one(CasinoSettings, casino_id)


def current_gaming_day(uow: UnitOfWork, casino_id: uuid.UUID) -> date:
    settings = load_settings(uow, casino_id)
    return gaming_day(uow.now(), settings.time_zone, settings.gaming_day_start)
