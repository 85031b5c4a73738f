"""Players: search by name prefix, loyalty card number or date of birth; enrolment."""

from __future__ import annotations

import re
import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from sqlalchemy import ColumnElement, func, or_, select

from pitterm.domain import audit
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import Tier, VisitKind, VisitStatus
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.tables import Player, PlayerLoyalty, Visit
from pitterm.domain.validation import parse, storable_text

SEARCH_LIMIT = 50
_CARD = re.compile(r"^[A-Z0-9-]{4,32}$")


class PlayerSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    first_name: str
    last_name: str
    date_of_birth: date | None
    loyalty_card_number: str | None
    tier: Tier | None
    balance: int
    open_visit_id: uuid.UUID | None
    open_visit_kind: VisitKind | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class NewPlayer(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    date_of_birth: date
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+() .-]{5,32}$")
    loyalty_card_number: str | None = None
    idempotency_key: uuid.UUID

    @field_validator("first_name", "last_name")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else None

    @field_validator("loyalty_card_number")
    @classmethod
    def _card(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().upper()
        if not _CARD.match(value):
            raise ValueError("4 to 32 letters, digits or dashes")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _plausible(cls, value: date) -> date:
        if not date(1900, 1, 1) <= value <= date.today():
            raise ValueError("date of birth must be between 1900-01-01 and today")
        return value


class Enrolled(Outcome):
    player_id: uuid.UUID


def search(uow: UnitOfWork, actor: Actor, text: str) -> list[PlayerSummary]:
    """Card number (exact), date of birth (YYYY-MM-DD), else a name prefix (first or last)."""
    require(actor, Capability.VIEW_FLOOR)
    text = storable_text(" ".join(text.split()), "search")
    if not text:
        return []
    with uow:
        return _summaries(uow, actor, _criterion(text), limit=SEARCH_LIMIT)


def get(uow: UnitOfWork, actor: Actor, player_id: uuid.UUID) -> PlayerSummary:
    require(actor, Capability.VIEW_FLOOR)
    with uow:
        found = _summaries(uow, actor, Player.id == player_id, limit=1)
        if not found:
            raise DomainError(ErrorCode.PLAYER_NOT_FOUND, "No such player at this casino.")
        return found[0]


def enrol(uow: UnitOfWork, actor: Actor, new: NewPlayer) -> Enrolled:
    """Create a player and their loyalty account (bronze, zero balance). Audited."""
    require(actor, Capability.OPERATE_VISITS_SLIPS)
    new = parse(NewPlayer, new)

    def body() -> Enrolled:
        if new.loyalty_card_number is not None:
            taken = uow.session.scalar(
                select(Player.id).where(
                    Player.casino_id == actor.casino_id,
                    Player.loyalty_card_number == new.loyalty_card_number,
                )
            )
            if taken is not None:
                raise DomainError(
                    ErrorCode.PLAYER_CARD_TAKEN,
                    f"loyalty_card_number: card {new.loyalty_card_number} belongs to another"
                    " player.",
                )
        player = Player(
            id=uuid.uuid4(),
            casino_id=actor.casino_id,
            first_name=new.first_name,
            last_name=new.last_name,
            date_of_birth=new.date_of_birth,
            email=new.email,
            phone=new.phone,
            loyalty_card_number=new.loyalty_card_number,
            created_at=uow.now(),
        )
        uow.session.add(player)
        uow.session.flush()
        uow.session.add(
            PlayerLoyalty(
                player_id=player.id,
                casino_id=actor.casino_id,
                current_balance=0,
                tier=Tier.BRONZE,
                updated_at=uow.now(),
            )
        )
        audit.record(
            uow,
            casino_id=actor.casino_id,
            staff_id=actor.staff_id,
            action="player.enrolled",
            entity_type="player",
            entity_id=player.id,
            after=new.model_dump(mode="json", exclude={"idempotency_key"}),
        )
        return Enrolled(player_id=player.id)

    return run_idempotent(
        uow,
        actor,
        operation="player.enrol",
        key=new.idempotency_key,
        request=new,
        result_type=Enrolled,
        body=body,
    )


def _criterion(text: str) -> ColumnElement[bool]:
    try:
        return Player.date_of_birth == date.fromisoformat(text)
    except ValueError:
        pass
    if any(ch.isdigit() for ch in text):
        return Player.loyalty_card_number == text.upper()
    prefix = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    parts = text.lower().split(" ", 1)
    full = func.lower(Player.first_name + " " + Player.last_name).like(prefix, escape="\\")
    if len(parts) == 2:
        return full
    return or_(
        func.lower(Player.last_name).like(prefix, escape="\\"),
        func.lower(Player.first_name).like(prefix, escape="\\"),
    )


def _summaries(
    uow: UnitOfWork, actor: Actor, criterion: ColumnElement[bool], *, limit: int
) -> list[PlayerSummary]:
    rows = uow.session.execute(
        select(
            Player, PlayerLoyalty.tier, PlayerLoyalty.current_balance, Visit.id, Visit.visit_kind
        )
        .outerjoin(
            PlayerLoyalty,
            (PlayerLoyalty.player_id == Player.id) & (PlayerLoyalty.casino_id == Player.casino_id),
        )
        .outerjoin(Visit, (Visit.player_id == Player.id) & (Visit.status == VisitStatus.OPEN))
        .where(Player.casino_id == actor.casino_id, criterion)
        .order_by(Player.last_name, Player.first_name, Player.id)
        .limit(limit)
    ).all()
    return [
        PlayerSummary(
            id=p.id,
            first_name=p.first_name,
            last_name=p.last_name,
            date_of_birth=p.date_of_birth,
            loyalty_card_number=p.loyalty_card_number,
            tier=tier,
            balance=balance or 0,
            open_visit_id=visit_id,
            open_visit_kind=visit_kind,
        )
        for p, tier, balance, visit_id, visit_kind in rows
    ]
