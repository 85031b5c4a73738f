"""promo instruments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Promotional instruments (seed 004): programs and their coupons, whose validation numbers are
unique across every casino on the server, and the casino settings that control them
(match rule, anonymous issuance, alert thresholds). Existing casinos get the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.policies import is_postgres, tenant_table

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def exact(precision: int, scale: int) -> sa.types.TypeEngine[Decimal]:
    """numeric on Postgres, decimal text on SQLite (see pitterm.domain.sqltypes.ExactDecimal)."""
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("casino_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "promo_require_exact_match", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "promo_allow_anonymous_issuance",
                sa.Boolean(),
                server_default=sa.true(),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("promo_void_rate_alert", exact(5, 4), server_default="0.05", nullable=False)
        )
        batch_op.add_column(
            sa.Column("promo_expiry_alert_hours", sa.Integer(), server_default="24", nullable=False)
        )
        batch_op.add_column(
            sa.Column("promo_spike_mad_k", exact(6, 3), server_default="3", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "promo_spike_min_history_days", sa.Integer(), server_default="3", nullable=False
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_casino_settings_promo_void_rate_fraction"),
            "CAST(promo_void_rate_alert AS REAL) BETWEEN 0 AND 1",
        )
        batch_op.create_check_constraint(
            op.f("ck_casino_settings_promo_expiry_hours_positive"), "promo_expiry_alert_hours > 0"
        )
        batch_op.create_check_constraint(
            op.f("ck_casino_settings_promo_spike_k_nonneg"), "CAST(promo_spike_mad_k AS REAL) >= 0"
        )
        batch_op.create_check_constraint(
            op.f("ck_casino_settings_promo_spike_history_range"),
            "promo_spike_min_history_days BETWEEN 1 AND 7",
        )

    op.create_table(
        "promo_program",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "promo_type",
            sa.Enum(
                "match_play",
                "nonnegotiable",
                "free_bet",
                "other",
                name="promo_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "paused",
                "ended",
                name="promo_program_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("min_wager_cents", sa.BigInteger(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_promo_program_window_ordered")),
        sa.CheckConstraint(
            "max_uses IS NULL OR max_uses > 0", name=op.f("ck_promo_program_max_uses_positive")
        ),
        sa.CheckConstraint(
            "min_wager_cents IS NULL OR min_wager_cents > 0",
            name=op.f("ck_promo_program_min_wager_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_promo_program_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_promo_program_created_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_program")),
        sa.UniqueConstraint("casino_id", "name", name=op.f("uq_promo_program_casino_id_name")),
    )
    with op.batch_alter_table("promo_program", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promo_program_casino_id"), ["casino_id"], unique=False)

    op.create_table(
        "promo_coupon",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("validation_number", sa.String(length=20), nullable=False),
        sa.Column("face_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("required_match_wager_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.Column("issued_to_player_id", sa.Uuid(), nullable=True),
        sa.Column("issued_to_visit_id", sa.Uuid(), nullable=True),
        sa.Column("issued_by", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued",
                "voided",
                "expired",
                "replaced",
                name="promo_coupon_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("voided_by", sa.Uuid(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_by_coupon_id", sa.Uuid(), nullable=True),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replace_reason", sa.Text(), nullable=True),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.CheckConstraint("face_value_cents > 0", name=op.f("ck_promo_coupon_face_positive")),
        sa.CheckConstraint(
            "required_match_wager_cents >= 0", name=op.f("ck_promo_coupon_wager_nonneg")
        ),
        sa.CheckConstraint("length(currency_code) = 3", name=op.f("ck_promo_coupon_currency_iso")),
        sa.CheckConstraint(
            "expires_at > issued_at", name=op.f("ck_promo_coupon_expires_after_issue")
        ),
        sa.CheckConstraint(
            "(status = 'voided') = (voided_at IS NOT NULL)",
            name=op.f("ck_promo_coupon_voided_iff_voided_at"),
        ),
        sa.CheckConstraint(
            "(voided_at IS NULL AND void_reason IS NULL AND voided_by IS NULL)"
            " OR (voided_at IS NOT NULL AND void_reason IS NOT NULL AND voided_by IS NOT NULL)",
            name=op.f("ck_promo_coupon_void_recorded_whole"),
        ),
        sa.CheckConstraint(
            "(status = 'replaced') = (replaced_at IS NOT NULL)",
            name=op.f("ck_promo_coupon_replaced_iff_replaced_at"),
        ),
        sa.CheckConstraint(
            "(replaced_at IS NULL AND replaced_by_coupon_id IS NULL AND replaced_by IS NULL"
            " AND replace_reason IS NULL) OR (replaced_at IS NOT NULL"
            " AND replaced_by_coupon_id IS NOT NULL AND replaced_by IS NOT NULL"
            " AND replace_reason IS NOT NULL)",
            name=op.f("ck_promo_coupon_replacement_recorded_whole"),
        ),
        sa.CheckConstraint(
            "voided_at IS NULL OR voided_at < expires_at",
            name=op.f("ck_promo_coupon_voided_before_expiry"),
        ),
        sa.CheckConstraint(
            "replaced_at IS NULL OR replaced_at < expires_at",
            name=op.f("ck_promo_coupon_replaced_before_expiry"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_promo_coupon_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["promo_program.id"],
            name=op.f("fk_promo_coupon_program_id_promo_program"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_to_player_id"],
            ["player.id"],
            name=op.f("fk_promo_coupon_issued_to_player_id_player"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_to_visit_id"],
            ["visit.id"],
            name=op.f("fk_promo_coupon_issued_to_visit_id_visit"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["staff.id"], name=op.f("fk_promo_coupon_issued_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["staff.id"], name=op.f("fk_promo_coupon_voided_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_coupon_id"],
            ["promo_coupon.id"],
            name=op.f("fk_promo_coupon_replaced_by_coupon_id_promo_coupon"),
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by"], ["staff.id"], name=op.f("fk_promo_coupon_replaced_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_coupon")),
        sa.UniqueConstraint("validation_number", name=op.f("uq_promo_coupon_validation_number")),
    )
    with op.batch_alter_table("promo_coupon", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promo_coupon_casino_id"), ["casino_id"], unique=False)
        batch_op.create_index(
            "ix_promo_coupon_casino_issued", ["casino_id", "issued_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_promo_coupon_program_issued", ["program_id", "issued_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_promo_coupon_casino_status_expires",
            ["casino_id", "status", "expires_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_promo_coupon_replaced_by",
            ["replaced_by_coupon_id"],
            unique=True,
            sqlite_where=sa.text("replaced_by_coupon_id IS NOT NULL"),
            postgresql_where=sa.text("replaced_by_coupon_id IS NOT NULL"),
        )

    if is_postgres():
        # Coupons and programs change state (void, replace, expire, pause): no DELETE, ever.
        tenant_table("promo_program", "SELECT, INSERT, UPDATE")
        tenant_table("promo_coupon", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    with op.batch_alter_table("promo_coupon", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_promo_coupon_replaced_by",
            sqlite_where=sa.text("replaced_by_coupon_id IS NOT NULL"),
            postgresql_where=sa.text("replaced_by_coupon_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_promo_coupon_casino_status_expires")
        batch_op.drop_index("ix_promo_coupon_program_issued")
        batch_op.drop_index("ix_promo_coupon_casino_issued")
        batch_op.drop_index(batch_op.f("ix_promo_coupon_casino_id"))

    op.drop_table("promo_coupon")
    with op.batch_alter_table("promo_program", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promo_program_casino_id"))

    op.drop_table("promo_program")
    with op.batch_alter_table("casino_settings", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_casino_settings_promo_spike_history_range"), type_="check"
        )
        batch_op.drop_constraint(op.f("ck_casino_settings_promo_spike_k_nonneg"), type_="check")
        batch_op.drop_constraint(
            op.f("ck_casino_settings_promo_expiry_hours_positive"), type_="check"
        )
        batch_op.drop_constraint(op.f("ck_casino_settings_promo_void_rate_fraction"), type_="check")
        batch_op.drop_column("promo_spike_min_history_days")
        batch_op.drop_column("promo_spike_mad_k")
        batch_op.drop_column("promo_expiry_alert_hours")
        batch_op.drop_column("promo_void_rate_alert")
        batch_op.drop_column("promo_allow_anonymous_issuance")
        batch_op.drop_column("promo_require_exact_match")
