"""The relational schema, as typed SQLAlchemy mappings. Migrations in ``db/`` create it.

Every business row carries ``casino_id``; the classes that do are ``CasinoScoped``, which the
unit of work uses to scope queries on SQLite and the migrations use to add row-level security
on Postgres.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pitterm.domain.enums import (
    CashDirection,
    GameType,
    LedgerReason,
    Rounding,
    SlipStatus,
    StaffRole,
    TableStatus,
    Tier,
    VisitKind,
    VisitStatus,
)
from pitterm.domain.import_status import ImportBatchStatus, ImportOutcome, ImportRowStatus
from pitterm.domain.promo_rules import CouponStatus, ProgramStatus, PromoType
from pitterm.domain.recon_rules import (
    Freshness,
    LabelState,
    ReconOutcome,
    ReconStatus,
)
from pitterm.domain.sqltypes import ExactDecimal, JsonDocument, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ENFORCED_BY_TRIGGER_ON_POSTGRES = "enforced_by_trigger_on_postgres"
"""``info`` key of a foreign key that Postgres enforces with triggers, not as a constraint
(the schema comparison expects it on SQLite only; tests check the triggers instead)."""


def enum_column(enum: type[Any], name: str) -> Enum:
    """A string column with a CHECK constraint listing the values: identical on both backends."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CasinoScoped:
    """Marker: the row belongs to one casino and is visible only inside it."""

    casino_id: Mapped[uuid.UUID]


def casino_fk(*, index: bool = True) -> Mapped[uuid.UUID]:
    """The row's casino. Indexed on its own unless (``index=False``) a composite index or
    unique constraint of the table leads with casino_id and serves the same lookups — a
    second index would only cost every insert (migration 0010)."""
    return mapped_column(ForeignKey("casino.id"), nullable=False, index=index)


def new_id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class Casino(Base):
    __tablename__ = "casino"

    id: Mapped[uuid.UUID] = new_id()
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CasinoSettings(Base, CasinoScoped):
    __tablename__ = "casino_settings"
    __table_args__ = (
        CheckConstraint("overdraw_cap_points >= 0", name="overdraw_cap_nonneg"),
        CheckConstraint("idle_lock_minutes > 0", name="idle_lock_positive"),
        CheckConstraint("freshness_threshold_days > 0", name="freshness_positive"),
        CheckConstraint("ctr_threshold_cents > 0", name="ctr_positive"),
        CheckConstraint("mtl_floor_cents > 0", name="mtl_positive"),
        CheckConstraint(
            "CAST(promo_void_rate_alert AS REAL) BETWEEN 0 AND 1", name="promo_void_rate_fraction"
        ),
        CheckConstraint("promo_expiry_alert_hours > 0", name="promo_expiry_hours_positive"),
        CheckConstraint("CAST(promo_spike_mad_k AS REAL) >= 0", name="promo_spike_k_nonneg"),
        CheckConstraint(
            "promo_spike_min_history_days BETWEEN 1 AND 7", name="promo_spike_history_range"
        ),
    )

    casino_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("casino.id"), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Los_Angeles")
    gaming_day_start: Mapped[time] = mapped_column(Time, default=time(6, 0))
    overdraw_cap_points: Mapped[int] = mapped_column(Integer, default=5000)
    four_eyes_overdraw: Mapped[bool] = mapped_column(Boolean, default=False)
    idle_lock_minutes: Mapped[int] = mapped_column(Integer, default=5)
    freshness_threshold_days: Mapped[int] = mapped_column(Integer, default=90)
    ctr_threshold_cents: Mapped[int] = mapped_column(BigInteger, default=1_000_000)
    near_ctr_fraction: Mapped[Decimal] = mapped_column(ExactDecimal(5, 4), default=Decimal("0.9"))
    mtl_floor_cents: Mapped[int] = mapped_column(BigInteger, default=300_000)
    # Promotional instruments (seed 004). Server defaults fill rows created before 0005.
    promo_require_exact_match: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    """Match play: the match wager must equal the face value (else: at least the face value)."""
    promo_allow_anonymous_issuance: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    promo_void_rate_alert: Mapped[Decimal] = mapped_column(
        ExactDecimal(5, 4), default=Decimal("0.05"), server_default="0.05"
    )
    """Alert when a shift's voids + replacements exceed this fraction of its issuance."""
    promo_expiry_alert_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    promo_spike_mad_k: Mapped[Decimal] = mapped_column(
        ExactDecimal(6, 3), default=Decimal(3), server_default="3"
    )
    promo_spike_min_history_days: Mapped[int] = mapped_column(
        Integer, default=3, server_default="3"
    )


class GameSettings(Base, CasinoScoped):
    # Decimals are text on SQLite, where a bare comparison with a number compares text:
    # the CASTs keep these checks numeric on both backends.
    __tablename__ = "game_settings"
    __table_args__ = (
        UniqueConstraint("casino_id", "name"),
        CheckConstraint("CAST(house_edge AS REAL) BETWEEN 0 AND 100", name="house_edge_pct"),
        CheckConstraint("decisions_per_hour > 0", name="decisions_positive"),
        CheckConstraint("CAST(points_conversion_rate AS REAL) >= 0", name="conversion_nonneg"),
        CheckConstraint("min_bet_cents > 0 AND max_bet_cents >= min_bet_cents", name="bet_limits"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    name: Mapped[str] = mapped_column(String(60))
    game_type: Mapped[GameType] = mapped_column(enum_column(GameType, "game_type"))
    house_edge: Mapped[Decimal] = mapped_column(ExactDecimal(6, 3))
    decisions_per_hour: Mapped[int] = mapped_column(Integer)
    points_conversion_rate: Mapped[Decimal] = mapped_column(ExactDecimal(10, 4))
    rounding: Mapped[Rounding] = mapped_column(
        enum_column(Rounding, "rounding"), default=Rounding.HALF_UP
    )
    policy_version: Mapped[str] = mapped_column(String(40))
    min_bet_cents: Mapped[int] = mapped_column(BigInteger)
    max_bet_cents: Mapped[int] = mapped_column(BigInteger)


class GamingTable(Base, CasinoScoped):
    __tablename__ = "gaming_table"
    __table_args__ = (
        UniqueConstraint("casino_id", "label"),
        CheckConstraint("seats BETWEEN 1 AND 14", name="seats_range"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    label: Mapped[str] = mapped_column(String(16))
    pit: Mapped[str] = mapped_column(String(32))
    game_settings_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("game_settings.id"))
    seats: Mapped[int] = mapped_column(Integer)
    status: Mapped[TableStatus] = mapped_column(
        enum_column(TableStatus, "table_status"), default=TableStatus.OPEN
    )


class Staff(Base, CasinoScoped):
    __tablename__ = "staff"
    __table_args__ = (
        UniqueConstraint("casino_id", "code"),
        CheckConstraint("failed_attempts >= 0", name="failed_nonneg"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, "staff_role"))
    pin_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_table_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gaming_table.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Player(Base, CasinoScoped):
    __tablename__ = "player"
    __table_args__ = (
        Index(
            "uq_player_casino_card",
            "casino_id",
            "loyalty_card_number",
            unique=True,
            sqlite_where=text("loyalty_card_number IS NOT NULL"),
            postgresql_where=text("loyalty_card_number IS NOT NULL"),
        ),
        Index("ix_player_casino_last_first", "casino_id", "last_name", "first_name"),
        Index("ix_player_casino_email", "casino_id", "email"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    loyalty_card_number: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PlayerLoyalty(Base, CasinoScoped):
    __tablename__ = "player_loyalty"

    player_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("player.id"), primary_key=True)
    casino_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("casino.id"), primary_key=True)
    current_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    tier: Mapped[Tier | None] = mapped_column(enum_column(Tier, "tier"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Visit(Base, CasinoScoped):
    __tablename__ = "visit"
    __table_args__ = (
        CheckConstraint(
            "(visit_kind = 'gaming_ghost_unrated' AND player_id IS NULL)"
            " OR (visit_kind <> 'gaming_ghost_unrated' AND player_id IS NOT NULL)",
            name="identity_matches_kind",
        ),
        CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)", name="closed_iff_closed_at"
        ),
        Index(
            "uq_visit_one_open_per_player",
            "casino_id",
            "player_id",
            unique=True,
            sqlite_where=text("status = 'open' AND player_id IS NOT NULL"),
            postgresql_where=text("status = 'open' AND player_id IS NOT NULL"),
        ),
        Index("ix_visit_casino_status", "casino_id", "status"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    player_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("player.id"))
    visit_kind: Mapped[VisitKind] = mapped_column(enum_column(VisitKind, "visit_kind"))
    status: Mapped[VisitStatus] = mapped_column(
        enum_column(VisitStatus, "visit_status"), default=VisitStatus.OPEN
    )
    gaming_day: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    converted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ghost_table_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gaming_table.id"))
    ghost_seat: Mapped[int | None] = mapped_column(Integer)
    ghost_description: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    associated_player_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("player.id"))
    associated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    associated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


_LIVE_SLIP = "status IN ('open', 'paused')"


class RatingSlip(Base, CasinoScoped):
    __tablename__ = "rating_slip"
    __table_args__ = (
        CheckConstraint("average_bet_cents >= 0", name="bet_nonneg"),
        CheckConstraint("seat >= 1", name="seat_positive"),
        CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)", name="closed_iff_closed_at"
        ),
        CheckConstraint("played_seconds IS NULL OR played_seconds >= 0", name="played_nonneg"),
        CheckConstraint("points IS NULL OR points >= 0", name="points_nonneg"),
        Index(
            "uq_rating_slip_one_live_per_visit",
            "visit_id",
            unique=True,
            sqlite_where=text(_LIVE_SLIP),
            postgresql_where=text(_LIVE_SLIP),
        ),
        Index(
            "uq_rating_slip_one_live_per_seat",
            "table_id",
            "seat",
            unique=True,
            sqlite_where=text(_LIVE_SLIP),
            postgresql_where=text(_LIVE_SLIP),
        ),
        Index("ix_rating_slip_casino_status", "casino_id", "status"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visit.id"), index=True)
    table_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gaming_table.id"))
    seat: Mapped[int] = mapped_column(Integer)
    status: Mapped[SlipStatus] = mapped_column(
        enum_column(SlipStatus, "slip_status"), default=SlipStatus.OPEN
    )
    average_bet_cents: Mapped[int] = mapped_column(BigInteger)
    policy_snapshot: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    played_seconds: Mapped[int | None] = mapped_column(BigInteger)
    theo: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 6))
    points: Mapped[int | None] = mapped_column(BigInteger)


class RatingSlipPause(Base, CasinoScoped):
    __tablename__ = "rating_slip_pause"
    __table_args__ = (
        CheckConstraint("resumed_at IS NULL OR resumed_at >= paused_at", name="resume_after_pause"),
        Index(
            "uq_rating_slip_pause_one_open",
            "slip_id",
            unique=True,
            sqlite_where=text("resumed_at IS NULL"),
            postgresql_where=text("resumed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk()
    slip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rating_slip.id"), index=True)
    paused_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RatingSlipBet(Base, CasinoScoped):
    """The history of a slip's average bet: one row per change, the first at start."""

    __tablename__ = "rating_slip_bet"
    __table_args__ = (CheckConstraint("average_bet_cents >= 0", name="bet_nonneg"),)

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk()
    slip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rating_slip.id"), index=True)
    average_bet_cents: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class CashTransaction(Base, CasinoScoped):
    """A buy-in (cash in) or cash-out on a visit, in integer cents, for CTR/MTL watch."""

    __tablename__ = "cash_transaction"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_cash_transaction_casino_day", "casino_id", "gaming_day"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visit.id"), index=True)
    player_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("player.id"))
    direction: Mapped[CashDirection] = mapped_column(enum_column(CashDirection, "cash_direction"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    gaming_day: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class IdempotencyRecord(Base, CasinoScoped):
    """The outcome of a mutation, by its idempotency key: a repeat returns it unchanged."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("casino_id", "idempotency_key"),)

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    idempotency_key: Mapped[uuid.UUID] = mapped_column(Uuid)
    operation: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CompItem(Base, CasinoScoped):
    """A comp on the casino's catalog: what it is and what it costs in points."""

    __tablename__ = "comp_item"
    __table_args__ = (
        UniqueConstraint("casino_id", "name"),
        CheckConstraint("points_cost > 0", name="cost_positive"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    name: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(40))
    points_cost: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LoyaltyLedger(Base, CasinoScoped):
    """Append-only: triggers on both backends refuse UPDATE and DELETE."""

    __tablename__ = "loyalty_ledger"
    __table_args__ = (
        Index(
            "ux_loyalty_ledger_idem",
            "casino_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index(
            "ux_loyalty_ledger_base_accrual",
            "casino_id",
            "source_kind",
            "source_id",
            "reason",
            unique=True,
            sqlite_where=text("reason = 'base_accrual'"),
            postgresql_where=text("reason = 'base_accrual'"),
        ),
        Index(
            "ux_loyalty_ledger_one_reversal",
            "reverses_entry_id",
            unique=True,
            sqlite_where=text("reverses_entry_id IS NOT NULL"),
            postgresql_where=text("reverses_entry_id IS NOT NULL"),
        ),
        Index("ix_loyalty_ledger_casino_created", "casino_id", "created_at", "id"),
        Index("ix_loyalty_ledger_player_created", "player_id", "created_at", "id"),
        Index("ix_loyalty_ledger_casino_reason_created", "casino_id", "reason", "created_at", "id"),
        Index("ix_loyalty_ledger_slip", "rating_slip_id"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    player_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("player.id"))
    rating_slip_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rating_slip.id"))
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"))
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    points_delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[LedgerReason] = mapped_column(enum_column(LedgerReason, "loyalty_reason"))
    idempotency_key: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_kind: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reverses_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loyalty_ledger.id"))
    note: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditLog(Base, CasinoScoped):
    """Append-only record of every mutation: who, what, before/after, correlation id."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_casino_created", "casino_id", "created_at"),)

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    correlation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


APPEND_ONLY_TABLES = ("loyalty_ledger", "audit_log")
"""Tables whose rows can never change once written."""


def casino_scoped_tables() -> list[str]:
    """Names of every table that carries casino_id (casino itself is keyed by its own id)."""
    return sorted(
        mapper.persist_selectable.description or ""
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, CasinoScoped)
    )


class PromoProgram(Base, CasinoScoped):
    """A promotional offer (seed 004): its type, issuing window, terms and constraints."""

    __tablename__ = "promo_program"
    __table_args__ = (
        UniqueConstraint("casino_id", "name"),
        CheckConstraint("end_at > start_at", name="window_ordered"),
        CheckConstraint(
            "min_wager_cents IS NULL OR min_wager_cents > 0", name="min_wager_positive"
        ),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    name: Mapped[str] = mapped_column(String(80))
    promo_type: Mapped[PromoType] = mapped_column(enum_column(PromoType, "promo_type"))
    status: Mapped[ProgramStatus] = mapped_column(
        enum_column(ProgramStatus, "promo_program_status"), default=ProgramStatus.DRAFT
    )
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    terms: Mapped[str] = mapped_column(Text, default="")
    min_wager_cents: Mapped[int | None] = mapped_column(BigInteger)
    """Match play: the least required match wager a coupon of this program may carry."""
    max_uses: Mapped[int | None] = mapped_column(Integer)
    """At most this many coupons in patrons' hands (issued or expired; replacements count once)."""
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PromoCoupon(Base, CasinoScoped):
    """An issued promotional instrument. Its validation number is unique across all casinos."""

    __tablename__ = "promo_coupon"
    __table_args__ = (
        UniqueConstraint("validation_number"),
        CheckConstraint("face_value_cents > 0", name="face_positive"),
        CheckConstraint("required_match_wager_cents >= 0", name="wager_nonneg"),
        CheckConstraint("length(currency_code) = 3", name="currency_iso"),
        CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
        CheckConstraint(
            "(status = 'voided') = (voided_at IS NOT NULL)", name="voided_iff_voided_at"
        ),
        CheckConstraint(
            "(voided_at IS NULL AND void_reason IS NULL AND voided_by IS NULL)"
            " OR (voided_at IS NOT NULL AND void_reason IS NOT NULL AND voided_by IS NOT NULL)",
            name="void_recorded_whole",
        ),
        CheckConstraint(
            "(status = 'replaced') = (replaced_at IS NOT NULL)", name="replaced_iff_replaced_at"
        ),
        CheckConstraint(
            "(replaced_at IS NULL AND replaced_by_coupon_id IS NULL AND replaced_by IS NULL"
            " AND replace_reason IS NULL) OR (replaced_at IS NOT NULL"
            " AND replaced_by_coupon_id IS NOT NULL AND replaced_by IS NOT NULL"
            " AND replace_reason IS NOT NULL)",
            name="replacement_recorded_whole",
        ),
        CheckConstraint("voided_at IS NULL OR voided_at < expires_at", name="voided_before_expiry"),
        CheckConstraint(
            "replaced_at IS NULL OR replaced_at < expires_at", name="replaced_before_expiry"
        ),
        Index(
            "uq_promo_coupon_replaced_by",
            "replaced_by_coupon_id",
            unique=True,
            sqlite_where=text("replaced_by_coupon_id IS NOT NULL"),
            postgresql_where=text("replaced_by_coupon_id IS NOT NULL"),
        ),
        Index("ix_promo_coupon_casino_issued", "casino_id", "issued_at", "id"),
        Index("ix_promo_coupon_program_issued", "program_id", "issued_at", "id"),
        Index("ix_promo_coupon_casino_status_expires", "casino_id", "status", "expires_at"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk(index=False)
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promo_program.id"))
    validation_number: Mapped[str] = mapped_column(String(20))
    face_value_cents: Mapped[int] = mapped_column(BigInteger)
    required_match_wager_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    issued_to_player_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("player.id"))
    issued_to_visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"))
    issued_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[CouponStatus] = mapped_column(
        enum_column(CouponStatus, "promo_coupon_status"), default=CouponStatus.ISSUED
    )
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replaced_by_coupon_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("promo_coupon.id"))
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    replaced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replace_reason: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)


# --- Player CSV import (DESIGN §8) -----------------------------------------------------------


class ImportBatch(Base, CasinoScoped):
    """One CSV file staged into one casino, identified by its content hash.

    The counts are kept in the same transaction as the rows they count, so a batch is
    consistent after an interruption at any point: ``row_count`` is also the number of the
    last staged row, where an interrupted import resumes.
    """

    __tablename__ = "import_batch"
    __table_args__ = (
        UniqueConstraint("casino_id", "content_sha256"),
        UniqueConstraint("id", "casino_id"),
        CheckConstraint(
            "row_count >= 0 AND error_count >= 0 AND error_count <= row_count", name="row_counts"
        ),
        CheckConstraint(
            "created_count >= 0 AND linked_count >= 0 AND skipped_count >= 0"
            " AND created_count + linked_count + skipped_count <= row_count",
            name="outcome_counts",
        ),
        CheckConstraint("file_size >= 0", name="size_nonneg"),
        Index("ix_import_batch_casino_created", "casino_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = new_id()
    casino_id: Mapped[uuid.UUID] = casino_fk()
    file_name: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger)
    content_sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(16))
    encoding_note: Mapped[str | None] = mapped_column(String(200))
    """Why the encoding is not plain UTF-8 (the Latin-1 fallback), shown to the user."""
    delimiter: Mapped[str] = mapped_column(String(1))
    header: Mapped[list[str]] = mapped_column(JsonDocument)
    mapping: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    status: Mapped[ImportBatchStatus] = mapped_column(
        enum_column(ImportBatchStatus, "import_batch_status"), default=ImportBatchStatus.STAGING
    )
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    linked_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    staged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    executed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    executed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ImportRow(Base, CasinoScoped):
    """One data row of a batch: normalised values, or the errors that kept it from staging.

    The loyalty fields stay here for tier reconciliation; imported points are for reference
    only and never reach the ledger. Keyed by (batch, row number): a row is staged once.
    """

    __tablename__ = "import_row"
    __table_args__ = (
        # One key for both: the row's batch exists and belongs to the row's casino. On
        # Postgres triggers enforce both keys once per statement instead (migration 0009:
        # bulk staging would pay a foreign-key check per row), so they are SQLite's only.
        ForeignKeyConstraint(
            ["batch_id", "casino_id"],
            ["import_batch.id", "import_batch.casino_id"],
            info={ENFORCED_BY_TRIGGER_ON_POSTGRES: True},
        ),
        ForeignKeyConstraint(
            ["player_id"], ["player.id"], info={ENFORCED_BY_TRIGGER_ON_POSTGRES: True}
        ),
        CheckConstraint("row_number >= 1 AND line_number >= 1", name="numbers_positive"),
        CheckConstraint(
            "imported_points_balance IS NULL OR imported_points_balance >= 0",
            name="points_nonneg",
        ),
        CheckConstraint(
            "outcome IS NULL OR status = 'staged' OR outcome = 'skipped'",
            name="error_rows_are_skipped",
        ),
    )

    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    """The data row's ordinal in the file (1 = first row after the header; blank lines skipped)."""
    casino_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    line_number: Mapped[int] = mapped_column(Integer)
    """The file line the row starts on (quoted fields may span lines)."""
    status: Mapped[ImportRowStatus] = mapped_column(
        enum_column(ImportRowStatus, "import_row_status")
    )
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    """[{"column": file column or null for the whole row, "reason": ...}]; empty when staged."""
    raw_values: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    """An error row's mapped cells as read (shortened, control characters made visible)."""
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str | None] = mapped_column(String(80))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    loyalty_card_number: Mapped[str | None] = mapped_column(String(32))
    imported_tier: Mapped[str | None] = mapped_column(String(64))
    imported_points_balance: Mapped[int | None] = mapped_column(BigInteger)
    imported_last_activity_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[ImportOutcome | None] = mapped_column(
        enum_column(ImportOutcome, "import_outcome")
    )
    outcome_reason: Mapped[str | None] = mapped_column(String(200))
    player_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class DriftHorizon(Base, CasinoScoped):
    """A casino's drift checkpoints exist: when they were last brought up to date, and how
    many accounts (player_loyalty rows) they cover."""

    __tablename__ = "drift_horizon"

    casino_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("casino.id"), primary_key=True)
    accounts: Mapped[int] = mapped_column(BigInteger)
    audited_at: Mapped[datetime] = mapped_column(UtcDateTime)
    audited_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class DriftCheckpoint(Base, CasinoScoped):
    """What the drift audit has verified of one player: the sum and count of every ledger
    entry taken in so far, and the cached balance as last audited (None: no account)."""

    __tablename__ = "drift_checkpoint"
    __table_args__ = (
        Index(
            "ix_drift_checkpoint_drifted",
            "casino_id",
            "player_id",
            sqlite_where=text("cached <> verified_sum"),
            postgresql_where=text("cached <> verified_sum"),
        ),
    )

    casino_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("casino.id"), primary_key=True)
    player_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("player.id"), primary_key=True)
    verified_sum: Mapped[int] = mapped_column(BigInteger)
    verified_entries: Mapped[int] = mapped_column(BigInteger)
    cached: Mapped[int | None] = mapped_column(BigInteger)


class DriftChange(Base, CasinoScoped):
    """A change the drift checkpoints have not taken in yet: a new ledger entry (``entry_id``)
    or a change of the player's cached balance (no entry). Written only by triggers on
    loyalty_ledger and player_loyalty, in the writing transaction; consumed by the audit."""

    __tablename__ = "drift_change"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True
    )
    casino_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    player_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


# --- Tier reconciliation (DESIGN §9) ---------------------------------------------------------


class LoyaltyTierMapping(Base, CasinoScoped):
    """One vendor tier label of a batch, mapped to a canonical tier or to ``ignore``.

    No row for a label means it is unmapped, and the batch's rows carrying it wait. Labels
    match exactly (no fuzzy matching): "Gold+" and "gold+" are two labels.
    """

    __tablename__ = "loyalty_tier_mapping"
    __table_args__ = (
        ForeignKeyConstraint(
            ["batch_id", "casino_id"], ["import_batch.id", "import_batch.casino_id"]
        ),
        CheckConstraint("(tier IS NULL) = ignored", name="tier_or_ignored"),
        CheckConstraint("length(vendor_label) >= 1", name="label_nonempty"),
    )

    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    vendor_label: Mapped[str] = mapped_column(String(64), primary_key=True)
    casino_id: Mapped[uuid.UUID] = casino_fk()
    tier: Mapped[Tier | None] = mapped_column(enum_column(Tier, "mapping_tier"))
    ignored: Mapped[bool] = mapped_column(Boolean, default=False)
    mapped_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    mapped_at: Mapped[datetime] = mapped_column(UtcDateTime)


_DECIDED_TIER_CHANGE = "('upgrade', 'downgrade', 'seed')"


class LoyaltyReconciliation(Base, CasinoScoped):
    """One executed import row's staged loyalty claim and its review (seed 000, option A).

    Its own table, keyed like the import row it came from (never columns on ``import_row``).
    ``mapped_tier``/``label_state`` follow the batch's mapping while the record is pending and
    are frozen once it is decided. ``freshness`` and ``freshness_threshold_days`` record what
    the apply saw; ``tier_before``/``tier_after`` what it changed (revert restores
    ``tier_before``). Imported points are kept for reference and never reach the ledger.
    """

    __tablename__ = "loyalty_reconciliation"
    __table_args__ = (
        ForeignKeyConstraint(
            ["batch_id", "casino_id"], ["import_batch.id", "import_batch.casino_id"]
        ),
        ForeignKeyConstraint(
            ["batch_id", "row_number"], ["import_row.batch_id", "import_row.row_number"]
        ),
        CheckConstraint(
            "(label_state = 'mapped') = (mapped_tier IS NOT NULL)", name="mapped_iff_tier"
        ),
        CheckConstraint(
            "(label_state = 'no_label') = (vendor_label IS NULL)", name="no_label_iff_null"
        ),
        CheckConstraint("(status = 'pending') = (outcome IS NULL)", name="pending_iff_undecided"),
        CheckConstraint(
            "(status = 'pending') = (applied_at IS NULL)"
            " AND (applied_at IS NULL) = (applied_by IS NULL)"
            " AND (applied_at IS NULL) = (freshness IS NULL)"
            " AND (freshness IS NULL) = (freshness_threshold_days IS NULL)",
            name="decision_recorded_whole",
        ),
        CheckConstraint(
            "(status = 'reverted') = (reverted_at IS NOT NULL)"
            " AND (reverted_at IS NULL) = (reverted_by IS NULL)",
            name="revert_recorded_whole",
        ),
        CheckConstraint(
            "(status IN ('applied', 'reverted'))"
            f" = (COALESCE(outcome, '') IN {_DECIDED_TIER_CHANGE})"
            " AND (status = 'no_change') = (COALESCE(outcome, '') = 'no_change')"
            " AND (status = 'ignored') = (COALESCE(outcome, '') = 'ignore')",
            name="status_matches_outcome",
        ),
        CheckConstraint(
            "status NOT IN ('applied', 'reverted') OR tier_after IS NOT NULL",
            name="applied_has_tier",
        ),
        CheckConstraint(
            "(COALESCE(outcome, '') = 'downgrade') = (override_reason IS NOT NULL)",
            name="override_iff_downgrade",
        ),
        CheckConstraint(
            "status IN ('pending', 'ignored') OR freshness = 'fresh' OR freshness_confirmed",
            name="stale_needs_confirmation",
        ),
        CheckConstraint(
            "imported_points_balance IS NULL OR imported_points_balance >= 0",
            name="points_nonneg",
        ),
        CheckConstraint(
            "freshness_threshold_days IS NULL OR freshness_threshold_days > 0",
            name="threshold_positive",
        ),
        Index("ix_loyalty_reconciliation_batch_status", "batch_id", "status", "row_number"),
        Index("ix_loyalty_reconciliation_player_status", "player_id", "status"),
    )

    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    casino_id: Mapped[uuid.UUID] = casino_fk()
    player_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("player.id"))
    vendor_label: Mapped[str | None] = mapped_column(String(64))
    """The staged vendor tier label, as in the file (trimmed)."""
    label_state: Mapped[LabelState] = mapped_column(enum_column(LabelState, "recon_label_state"))
    mapped_tier: Mapped[Tier | None] = mapped_column(enum_column(Tier, "mapped_tier"))
    canonical_tier_at_staging: Mapped[Tier | None] = mapped_column(
        enum_column(Tier, "staging_tier")
    )
    """The player's canonical tier when the batch was executed (None: no tier then)."""
    imported_points_balance: Mapped[int | None] = mapped_column(BigInteger)
    """For reference only: never written to the ledger."""
    imported_last_activity_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[ReconStatus] = mapped_column(
        enum_column(ReconStatus, "recon_status"), default=ReconStatus.PENDING
    )
    outcome: Mapped[ReconOutcome | None] = mapped_column(enum_column(ReconOutcome, "recon_outcome"))
    """The decided outcome (None while pending; the proposal is computed live until then)."""
    freshness: Mapped[Freshness | None] = mapped_column(enum_column(Freshness, "recon_freshness"))
    freshness_threshold_days: Mapped[int | None] = mapped_column(Integer)
    freshness_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    tier_before: Mapped[Tier | None] = mapped_column(enum_column(Tier, "tier_before"))
    tier_after: Mapped[Tier | None] = mapped_column(enum_column(Tier, "tier_after"))
    loyalty_created: Mapped[bool] = mapped_column(Boolean, default=False)
    """The apply created the player's loyalty record (seeded with the mapped tier)."""
    override_reason: Mapped[str | None] = mapped_column(Text)
    applied_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reverted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    reverted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
