"""Helpers for promo tests: programs and coupons through the real services."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from pitterm.domain import promo
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database, Scope
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.promo_rules import PromoType
from pitterm.domain.tables import AuditLog, CasinoSettings


def key() -> uuid.UUID:
    return uuid.uuid4()


def new_program(
    database: Database,
    actor: Actor,
    promo_type: PromoType = PromoType.MATCH_PLAY,
    *,
    name: str | None = None,
    start: timedelta = timedelta(days=-1),
    length: timedelta = timedelta(days=30),
    activate: bool = True,
    **fields: Any,
) -> promo.ProgramView:
    """A program whose window starts ``start`` from now and lasts ``length`` (active by default)."""
    now = database.clock.now()
    saved = promo.create_program(
        database.uow(actor),
        actor,
        promo.NewProgram(
            name=name or f"{promo_type.label} {uuid.uuid4().hex[:6]}",
            promo_type=promo_type,
            start_at=now + start,
            end_at=now + start + length,
            idempotency_key=key(),
            **fields,
        ),
    )
    if not activate:
        return saved.program
    return promo.activate_program(
        database.uow(actor),
        actor,
        promo.ProgramCommand(program_id=saved.program.id, idempotency_key=key()),
    ).program


def issue(
    database: Database,
    actor: Actor,
    program_id: uuid.UUID,
    face: int = 2500,
    wager: int | None = None,
    **extra: Any,
) -> promo.CouponView:
    """Issue a coupon; for match play the wager defaults to the face value."""
    if wager is None:
        wager = face if extra.pop("match", True) else 0
    return promo.issue_coupon(
        database.uow(actor),
        actor,
        promo.IssueCoupon(
            program_id=program_id,
            face_value_cents=face,
            required_match_wager_cents=wager,
            idempotency_key=extra.pop("idempotency_key", None) or key(),
            **extra,
        ),
    ).coupon


def void(database: Database, actor: Actor, coupon_id: uuid.UUID, reason: str = "misprint"):
    return promo.void_coupon(
        database.uow(actor),
        actor,
        promo.VoidCoupon(coupon_id=coupon_id, reason=reason, idempotency_key=key()),
    )


def replace(
    database: Database, actor: Actor, coupon_id: uuid.UUID, reason: str = "torn", **extra: Any
):
    return promo.replace_coupon(
        database.uow(actor),
        actor,
        promo.ReplaceCoupon(coupon_id=coupon_id, reason=reason, idempotency_key=key(), **extra),
    )


def expect(code: ErrorCode, call: Any, *args: Any, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code is code, raised.value
    return raised.value


def set_settings(database: Database, casino_id: uuid.UUID, **values: Any) -> None:
    with database.uow(Scope(casino_id)) as uow:
        uow.session.execute(
            update(CasinoSettings).where(CasinoSettings.casino_id == casino_id).values(**values)
        )
        uow.commit()


def audit_actions(database: Database, casino_id: uuid.UUID, entity_id: object) -> list[str]:
    """The entity's audit actions, sorted (the tests' clock is frozen, so times often tie)."""
    with database.reader(Scope(casino_id)) as uow:
        return sorted(
            uow.session.scalars(select(AuditLog.action).where(AuditLog.entity_id == str(entity_id)))
        )


def at(database: Database) -> datetime:
    return database.clock.now()
