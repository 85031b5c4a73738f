"""foundation schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Tables, constraints and indexes; append-only triggers on both backends; on Postgres the
application role, its grants and row-level security on every casino-scoped table.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.policies import APP_ROLE, tenant_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

CASINO_SCOPED = (
    "audit_log",
    "casino_settings",
    "game_settings",
    "gaming_table",
    "loyalty_ledger",
    "player",
    "player_loyalty",
    "rating_slip",
    "rating_slip_bet",
    "rating_slip_pause",
    "staff",
    "visit",
)
APPEND_ONLY = ("loyalty_ledger", "audit_log")


def exact(precision: int, scale: int) -> sa.types.TypeEngine[Decimal]:
    """numeric on Postgres, decimal text on SQLite (see pitterm.domain.sqltypes.ExactDecimal)."""
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    create_tables()
    if op.get_bind().dialect.name == "postgresql":
        postgres_append_only()
        postgres_role_and_rls()
    else:
        sqlite_append_only()


def create_tables() -> None:
    op.create_table(
        "casino",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casino")),
        sa.UniqueConstraint("code", name=op.f("uq_casino_code")),
    )
    op.create_table(
        "casino_settings",
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("gaming_day_start", sa.Time(), nullable=False),
        sa.Column("overdraw_cap_points", sa.Integer(), nullable=False),
        sa.Column("four_eyes_overdraw", sa.Boolean(), nullable=False),
        sa.Column("idle_lock_minutes", sa.Integer(), nullable=False),
        sa.Column("freshness_threshold_days", sa.Integer(), nullable=False),
        sa.Column("ctr_threshold_cents", sa.BigInteger(), nullable=False),
        sa.Column("near_ctr_fraction", exact(5, 4), nullable=False),
        sa.Column("mtl_floor_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("ctr_threshold_cents > 0", name=op.f("ck_casino_settings_ctr_positive")),
        sa.CheckConstraint(
            "freshness_threshold_days > 0", name=op.f("ck_casino_settings_freshness_positive")
        ),
        sa.CheckConstraint(
            "idle_lock_minutes > 0", name=op.f("ck_casino_settings_idle_lock_positive")
        ),
        sa.CheckConstraint("mtl_floor_cents > 0", name=op.f("ck_casino_settings_mtl_positive")),
        sa.CheckConstraint(
            "overdraw_cap_points >= 0", name=op.f("ck_casino_settings_overdraw_cap_nonneg")
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_casino_settings_casino_id_casino")
        ),
        sa.PrimaryKeyConstraint("casino_id", name=op.f("pk_casino_settings")),
    )
    op.create_table(
        "game_settings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column(
            "game_type",
            sa.Enum(
                "blackjack",
                "baccarat",
                "roulette",
                "craps",
                "poker",
                name="game_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("house_edge", exact(6, 3), nullable=False),
        sa.Column("decisions_per_hour", sa.Integer(), nullable=False),
        sa.Column("points_conversion_rate", exact(10, 4), nullable=False),
        sa.Column(
            "rounding",
            sa.Enum(
                "half_up",
                "floor",
                name="rounding",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("policy_version", sa.String(length=40), nullable=False),
        sa.Column("min_bet_cents", sa.BigInteger(), nullable=False),
        sa.Column("max_bet_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "decisions_per_hour > 0", name=op.f("ck_game_settings_decisions_positive")
        ),
        sa.CheckConstraint(
            "CAST(house_edge AS REAL) BETWEEN 0 AND 100",
            name=op.f("ck_game_settings_house_edge_pct"),
        ),
        sa.CheckConstraint(
            "min_bet_cents > 0 AND max_bet_cents >= min_bet_cents",
            name=op.f("ck_game_settings_bet_limits"),
        ),
        sa.CheckConstraint(
            "CAST(points_conversion_rate AS REAL) >= 0",
            name=op.f("ck_game_settings_conversion_nonneg"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_game_settings_casino_id_casino")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_settings")),
        sa.UniqueConstraint("casino_id", "name", name=op.f("uq_game_settings_casino_id_name")),
    )
    with op.batch_alter_table("game_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_game_settings_casino_id"), ["casino_id"], unique=False)

    op.create_table(
        "player",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=False),
        sa.Column("last_name", sa.String(length=80), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("loyalty_card_number", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_player_casino_id_casino")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_player")),
    )
    with op.batch_alter_table("player", schema=None) as batch_op:
        batch_op.create_index("ix_player_casino_email", ["casino_id", "email"], unique=False)
        batch_op.create_index(batch_op.f("ix_player_casino_id"), ["casino_id"], unique=False)
        batch_op.create_index(
            "ix_player_casino_last_first", ["casino_id", "last_name", "first_name"], unique=False
        )
        batch_op.create_index(
            "uq_player_casino_card",
            ["casino_id", "loyalty_card_number"],
            unique=True,
            sqlite_where=sa.text("loyalty_card_number IS NOT NULL"),
            postgresql_where=sa.text("loyalty_card_number IS NOT NULL"),
        )

    op.create_table(
        "gaming_table",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("pit", sa.String(length=32), nullable=False),
        sa.Column("game_settings_id", sa.Uuid(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "closed",
                name="table_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("seats BETWEEN 1 AND 14", name=op.f("ck_gaming_table_seats_range")),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_gaming_table_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["game_settings_id"],
            ["game_settings.id"],
            name=op.f("fk_gaming_table_game_settings_id_game_settings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gaming_table")),
        sa.UniqueConstraint("casino_id", "label", name=op.f("uq_gaming_table_casino_id_label")),
    )
    with op.batch_alter_table("gaming_table", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gaming_table_casino_id"), ["casino_id"], unique=False)

    op.create_table(
        "player_loyalty",
        sa.Column("player_id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("current_balance", sa.BigInteger(), nullable=False),
        sa.Column(
            "tier",
            sa.Enum(
                "bronze",
                "silver",
                "gold",
                "platinum",
                "diamond",
                name="tier",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_player_loyalty_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["player.id"], name=op.f("fk_player_loyalty_player_id_player")
        ),
        sa.PrimaryKeyConstraint("player_id", "casino_id", name=op.f("pk_player_loyalty")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "dealer",
                "floor_supervisor",
                "pit_boss",
                "cashier",
                "loyalty_manager",
                "admin",
                name="staff_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("assigned_table_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("failed_attempts >= 0", name=op.f("ck_staff_failed_nonneg")),
        sa.ForeignKeyConstraint(
            ["assigned_table_id"],
            ["gaming_table.id"],
            name=op.f("fk_staff_assigned_table_id_gaming_table"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_staff_casino_id_casino")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("casino_id", "code", name=op.f("uq_staff_casino_id_code")),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_casino_id"), ["casino_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", JSONDOC, nullable=True),
        sa.Column("after", JSONDOC, nullable=True),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_audit_log_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_audit_log_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_casino_created", ["casino_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_log_casino_id"), ["casino_id"], unique=False)

    op.create_table(
        "visit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("player_id", sa.Uuid(), nullable=True),
        sa.Column(
            "visit_kind",
            sa.Enum(
                "reward_identified",
                "gaming_identified_rated",
                "gaming_ghost_unrated",
                name="visit_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "closed",
                name="visit_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ghost_table_id", sa.Uuid(), nullable=True),
        sa.Column("ghost_seat", sa.Integer(), nullable=True),
        sa.Column("ghost_description", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("associated_player_id", sa.Uuid(), nullable=True),
        sa.Column("associated_by", sa.Uuid(), nullable=True),
        sa.Column("associated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)",
            name=op.f("ck_visit_closed_iff_closed_at"),
        ),
        sa.CheckConstraint(
            "(visit_kind = 'gaming_ghost_unrated' AND player_id IS NULL) OR (visit_kind <> 'gaming_ghost_unrated' AND player_id IS NOT NULL)",
            name=op.f("ck_visit_identity_matches_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["associated_by"], ["staff.id"], name=op.f("fk_visit_associated_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["associated_player_id"],
            ["player.id"],
            name=op.f("fk_visit_associated_player_id_player"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_visit_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(["closed_by"], ["staff.id"], name=op.f("fk_visit_closed_by_staff")),
        sa.ForeignKeyConstraint(
            ["ghost_table_id"],
            ["gaming_table.id"],
            name=op.f("fk_visit_ghost_table_id_gaming_table"),
        ),
        sa.ForeignKeyConstraint(["opened_by"], ["staff.id"], name=op.f("fk_visit_opened_by_staff")),
        sa.ForeignKeyConstraint(
            ["player_id"], ["player.id"], name=op.f("fk_visit_player_id_player")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_casino_id"), ["casino_id"], unique=False)
        batch_op.create_index("ix_visit_casino_status", ["casino_id", "status"], unique=False)
        batch_op.create_index(
            "uq_visit_one_open_per_player",
            ["casino_id", "player_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open' AND player_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'open' AND player_id IS NOT NULL"),
        )

    op.create_table(
        "rating_slip",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("table_id", sa.Uuid(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "paused",
                "closed",
                name="slip_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("average_bet_cents", sa.BigInteger(), nullable=False),
        sa.Column("policy_snapshot", JSONDOC, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("played_seconds", sa.BigInteger(), nullable=True),
        sa.Column("theo", exact(18, 6), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)",
            name=op.f("ck_rating_slip_closed_iff_closed_at"),
        ),
        sa.CheckConstraint("average_bet_cents >= 0", name=op.f("ck_rating_slip_bet_nonneg")),
        sa.CheckConstraint(
            "played_seconds IS NULL OR played_seconds >= 0",
            name=op.f("ck_rating_slip_played_nonneg"),
        ),
        sa.CheckConstraint(
            "points IS NULL OR points >= 0", name=op.f("ck_rating_slip_points_nonneg")
        ),
        sa.CheckConstraint("seat >= 1", name=op.f("ck_rating_slip_seat_positive")),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_rating_slip_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["staff.id"], name=op.f("fk_rating_slip_closed_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["started_by"], ["staff.id"], name=op.f("fk_rating_slip_started_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["table_id"], ["gaming_table.id"], name=op.f("fk_rating_slip_table_id_gaming_table")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_rating_slip_visit_id_visit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_slip")),
    )
    with op.batch_alter_table("rating_slip", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rating_slip_casino_id"), ["casino_id"], unique=False)
        batch_op.create_index("ix_rating_slip_casino_status", ["casino_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_rating_slip_visit_id"), ["visit_id"], unique=False)
        batch_op.create_index(
            "uq_rating_slip_one_live_per_seat",
            ["table_id", "seat"],
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'paused')"),
            postgresql_where=sa.text("status IN ('open', 'paused')"),
        )
        batch_op.create_index(
            "uq_rating_slip_one_live_per_visit",
            ["visit_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'paused')"),
            postgresql_where=sa.text("status IN ('open', 'paused')"),
        )

    op.create_table(
        "loyalty_ledger",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("player_id", sa.Uuid(), nullable=False),
        sa.Column("rating_slip_id", sa.Uuid(), nullable=True),
        sa.Column("visit_id", sa.Uuid(), nullable=True),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("points_delta", sa.BigInteger(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "base_accrual",
                "promotion",
                "manual_reward",
                "redeem",
                "adjustment",
                "reversal",
                name="loyalty_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.Uuid(), nullable=True),
        sa.Column("source_kind", sa.String(length=32), nullable=True),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("reverses_entry_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("metadata", JSONDOC, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_loyalty_ledger_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["player.id"], name=op.f("fk_loyalty_ledger_player_id_player")
        ),
        sa.ForeignKeyConstraint(
            ["rating_slip_id"],
            ["rating_slip.id"],
            name=op.f("fk_loyalty_ledger_rating_slip_id_rating_slip"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["loyalty_ledger.id"],
            name=op.f("fk_loyalty_ledger_reverses_entry_id_loyalty_ledger"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_loyalty_ledger_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_loyalty_ledger_visit_id_visit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_ledger")),
    )
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_ledger_casino_created", ["casino_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_loyalty_ledger_casino_id"), ["casino_id"], unique=False
        )
        batch_op.create_index(
            "ix_loyalty_ledger_player_created", ["player_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ux_loyalty_ledger_base_accrual",
            ["casino_id", "source_kind", "source_id", "reason"],
            unique=True,
            sqlite_where=sa.text("reason = 'base_accrual'"),
            postgresql_where=sa.text("reason = 'base_accrual'"),
        )
        batch_op.create_index(
            "ux_loyalty_ledger_idem",
            ["casino_id", "idempotency_key"],
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.create_index(
            "ux_loyalty_ledger_one_reversal",
            ["reverses_entry_id"],
            unique=True,
            sqlite_where=sa.text("reverses_entry_id IS NOT NULL"),
            postgresql_where=sa.text("reverses_entry_id IS NOT NULL"),
        )

    op.create_table(
        "rating_slip_bet",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("slip_id", sa.Uuid(), nullable=False),
        sa.Column("average_bet_cents", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=False),
        sa.CheckConstraint("average_bet_cents >= 0", name=op.f("ck_rating_slip_bet_bet_nonneg")),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_rating_slip_bet_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["staff.id"], name=op.f("fk_rating_slip_bet_changed_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["slip_id"], ["rating_slip.id"], name=op.f("fk_rating_slip_bet_slip_id_rating_slip")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_slip_bet")),
    )
    with op.batch_alter_table("rating_slip_bet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rating_slip_bet_casino_id"), ["casino_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rating_slip_bet_slip_id"), ["slip_id"], unique=False)

    op.create_table(
        "rating_slip_pause",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("slip_id", sa.Uuid(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "resumed_at IS NULL OR resumed_at >= paused_at",
            name=op.f("ck_rating_slip_pause_resume_after_pause"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_rating_slip_pause_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["slip_id"], ["rating_slip.id"], name=op.f("fk_rating_slip_pause_slip_id_rating_slip")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_slip_pause")),
    )
    with op.batch_alter_table("rating_slip_pause", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rating_slip_pause_casino_id"), ["casino_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rating_slip_pause_slip_id"), ["slip_id"], unique=False)
        batch_op.create_index(
            "uq_rating_slip_pause_one_open",
            ["slip_id"],
            unique=True,
            sqlite_where=sa.text("resumed_at IS NULL"),
            postgresql_where=sa.text("resumed_at IS NULL"),
        )


def sqlite_append_only() -> None:
    for table in APPEND_ONLY:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_refuse_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )


def postgres_append_only() -> None:
    op.execute(
        """
        CREATE FUNCTION pitterm_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_refuse_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION pitterm_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pitterm_refuse_change()"
        )


def postgres_role_and_rls() -> None:
    # Roles are cluster-wide: several pitterm databases on one server share the role.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN;
            END IF;
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', current_schema());
        END
        $$
        """
    )
    op.execute(f"GRANT SELECT ON alembic_version, casino TO {APP_ROLE}")
    for table in CASINO_SCOPED:
        tenant_table(table, "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE")
    # Casino names and codes are not secret, and a terminal must resolve its casino's code
    # before anyone has signed in; writing casinos stays with the owner.
    op.execute("ALTER TABLE casino ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY casino_readable ON casino FOR SELECT TO {APP_ROLE} USING (true)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("casino", *CASINO_SCOPED):
            op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON alembic_version FROM {APP_ROLE}")
    with op.batch_alter_table("rating_slip_pause", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_rating_slip_pause_one_open",
            sqlite_where=sa.text("resumed_at IS NULL"),
            postgresql_where=sa.text("resumed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_rating_slip_pause_slip_id"))
        batch_op.drop_index(batch_op.f("ix_rating_slip_pause_casino_id"))

    op.drop_table("rating_slip_pause")
    with op.batch_alter_table("rating_slip_bet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_slip_bet_slip_id"))
        batch_op.drop_index(batch_op.f("ix_rating_slip_bet_casino_id"))

    op.drop_table("rating_slip_bet")
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_loyalty_ledger_one_reversal",
            sqlite_where=sa.text("reverses_entry_id IS NOT NULL"),
            postgresql_where=sa.text("reverses_entry_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ux_loyalty_ledger_idem",
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.drop_index(
            "ux_loyalty_ledger_base_accrual",
            sqlite_where=sa.text("reason = 'base_accrual'"),
            postgresql_where=sa.text("reason = 'base_accrual'"),
        )
        batch_op.drop_index("ix_loyalty_ledger_player_created")
        batch_op.drop_index(batch_op.f("ix_loyalty_ledger_casino_id"))
        batch_op.drop_index("ix_loyalty_ledger_casino_created")

    op.drop_table("loyalty_ledger")
    with op.batch_alter_table("rating_slip", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_rating_slip_one_live_per_visit",
            sqlite_where=sa.text("status IN ('open', 'paused')"),
            postgresql_where=sa.text("status IN ('open', 'paused')"),
        )
        batch_op.drop_index(
            "uq_rating_slip_one_live_per_seat",
            sqlite_where=sa.text("status IN ('open', 'paused')"),
            postgresql_where=sa.text("status IN ('open', 'paused')"),
        )
        batch_op.drop_index(batch_op.f("ix_rating_slip_visit_id"))
        batch_op.drop_index("ix_rating_slip_casino_status")
        batch_op.drop_index(batch_op.f("ix_rating_slip_casino_id"))

    op.drop_table("rating_slip")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_visit_one_open_per_player",
            sqlite_where=sa.text("status = 'open' AND player_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'open' AND player_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_visit_casino_status")
        batch_op.drop_index(batch_op.f("ix_visit_casino_id"))

    op.drop_table("visit")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_casino_id"))
        batch_op.drop_index("ix_audit_log_casino_created")

    op.drop_table("audit_log")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_casino_id"))

    op.drop_table("staff")
    op.drop_table("player_loyalty")
    with op.batch_alter_table("gaming_table", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gaming_table_casino_id"))

    op.drop_table("gaming_table")
    with op.batch_alter_table("player", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_player_casino_card",
            sqlite_where=sa.text("loyalty_card_number IS NOT NULL"),
            postgresql_where=sa.text("loyalty_card_number IS NOT NULL"),
        )
        batch_op.drop_index("ix_player_casino_last_first")
        batch_op.drop_index(batch_op.f("ix_player_casino_id"))
        batch_op.drop_index("ix_player_casino_email")

    op.drop_table("player")
    with op.batch_alter_table("game_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_game_settings_casino_id"))

    op.drop_table("game_settings")
    op.drop_table("casino_settings")
    op.drop_table("casino")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION pitterm_refuse_change()")
