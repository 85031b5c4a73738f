"""tier reconciliation

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21

Tier reconciliation (seed 000 option A, DESIGN §9): ``loyalty_tier_mapping`` holds each
batch's explicit vendor label → canonical tier (or ignore) mapping, and
``loyalty_reconciliation`` one record per executed import row carrying loyalty fields, keyed
like that row (its provenance) and tracking review, apply and revert. The freshness threshold
is the existing ``casino_settings.freshness_threshold_days`` (default 90). Batches executed
before this revision get their pending records here; on Postgres both are tenant tables (a
mapping can be cleared, a record never deleted).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.policies import is_postgres, tenant_table

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BACKFILL = """
INSERT INTO loyalty_reconciliation (
    batch_id, row_number, casino_id, player_id, vendor_label, label_state,
    canonical_tier_at_staging, imported_points_balance, imported_last_activity_at,
    status, freshness_confirmed, loyalty_created, created_at
)
SELECT r.batch_id, r.row_number, r.casino_id, r.player_id, r.imported_tier,
    CASE WHEN r.imported_tier IS NULL THEN 'no_label' ELSE 'unmapped' END,
    pl.tier, r.imported_points_balance, r.imported_last_activity_at,
    'pending', false, false, b.executed_at
FROM import_row r
JOIN import_batch b ON b.id = r.batch_id AND b.casino_id = r.casino_id
LEFT JOIN player_loyalty pl ON pl.player_id = r.player_id AND pl.casino_id = r.casino_id
WHERE b.status = 'executed' AND r.player_id IS NOT NULL
    AND r.outcome IN ('created', 'linked')
    AND (r.imported_tier IS NOT NULL OR r.imported_points_balance IS NOT NULL
         OR r.imported_last_activity_at IS NOT NULL)
"""


def upgrade() -> None:
    op.create_table(
        "loyalty_tier_mapping",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("vendor_label", sa.String(length=64), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column(
            "tier",
            sa.Enum(
                "bronze",
                "silver",
                "gold",
                "platinum",
                "diamond",
                name="mapping_tier",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("ignored", sa.Boolean(), nullable=False),
        sa.Column("mapped_by", sa.Uuid(), nullable=False),
        sa.Column("mapped_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(tier IS NULL) = ignored", name=op.f("ck_loyalty_tier_mapping_tier_or_ignored")
        ),
        sa.CheckConstraint(
            "length(vendor_label) >= 1", name=op.f("ck_loyalty_tier_mapping_label_nonempty")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id", "casino_id"],
            ["import_batch.id", "import_batch.casino_id"],
            name=op.f("fk_loyalty_tier_mapping_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_loyalty_tier_mapping_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["mapped_by"], ["staff.id"], name=op.f("fk_loyalty_tier_mapping_mapped_by_staff")
        ),
        sa.PrimaryKeyConstraint("batch_id", "vendor_label", name=op.f("pk_loyalty_tier_mapping")),
    )
    with op.batch_alter_table("loyalty_tier_mapping", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loyalty_tier_mapping_casino_id"), ["casino_id"], unique=False
        )

    op.create_table(
        "loyalty_reconciliation",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("player_id", sa.Uuid(), nullable=False),
        sa.Column("vendor_label", sa.String(length=64), nullable=True),
        sa.Column(
            "label_state",
            sa.Enum(
                "unmapped",
                "mapped",
                "ignored",
                "no_label",
                name="recon_label_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "mapped_tier",
            sa.Enum(
                "bronze",
                "silver",
                "gold",
                "platinum",
                "diamond",
                name="mapped_tier",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "canonical_tier_at_staging",
            sa.Enum(
                "bronze",
                "silver",
                "gold",
                "platinum",
                "diamond",
                name="staging_tier",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("imported_points_balance", sa.BigInteger(), nullable=True),
        sa.Column("imported_last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "applied",
                "no_change",
                "ignored",
                "reverted",
                name="recon_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "upgrade",
                "no_change",
                "downgrade",
                "seed",
                "ignore",
                "unmapped",
                name="recon_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "freshness",
            sa.Enum(
                "fresh",
                "stale",
                "unknown",
                name="recon_freshness",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("freshness_threshold_days", sa.Integer(), nullable=True),
        sa.Column("freshness_confirmed", sa.Boolean(), nullable=False),
        sa.Column(
            "tier_before",
            sa.Enum(
                "bronze",
                "silver",
                "gold",
                "platinum",
                "diamond",
                name="tier_before",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "tier_after",
            sa.Enum(
                "bronze",
                "silver",
                "gold",
                "platinum",
                "diamond",
                name="tier_after",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("loyalty_created", sa.Boolean(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("applied_by", sa.Uuid(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by", sa.Uuid(), nullable=True),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(COALESCE(outcome, '') = 'downgrade') = (override_reason IS NOT NULL)",
            name=op.f("ck_loyalty_reconciliation_override_iff_downgrade"),
        ),
        sa.CheckConstraint(
            "(label_state = 'mapped') = (mapped_tier IS NOT NULL)",
            name=op.f("ck_loyalty_reconciliation_mapped_iff_tier"),
        ),
        sa.CheckConstraint(
            "(label_state = 'no_label') = (vendor_label IS NULL)",
            name=op.f("ck_loyalty_reconciliation_no_label_iff_null"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (applied_at IS NULL) AND (applied_at IS NULL) = (applied_by IS NULL) AND (applied_at IS NULL) = (freshness IS NULL) AND (freshness IS NULL) = (freshness_threshold_days IS NULL)",
            name=op.f("ck_loyalty_reconciliation_decision_recorded_whole"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (outcome IS NULL)",
            name=op.f("ck_loyalty_reconciliation_pending_iff_undecided"),
        ),
        sa.CheckConstraint(
            "(status = 'reverted') = (reverted_at IS NOT NULL) AND (reverted_at IS NULL) = (reverted_by IS NULL)",
            name=op.f("ck_loyalty_reconciliation_revert_recorded_whole"),
        ),
        sa.CheckConstraint(
            "(status IN ('applied', 'reverted')) = (COALESCE(outcome, '') IN ('upgrade', 'downgrade', 'seed')) AND (status = 'no_change') = (COALESCE(outcome, '') = 'no_change') AND (status = 'ignored') = (COALESCE(outcome, '') = 'ignore')",
            name=op.f("ck_loyalty_reconciliation_status_matches_outcome"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'ignored') OR freshness = 'fresh' OR freshness_confirmed",
            name=op.f("ck_loyalty_reconciliation_stale_needs_confirmation"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('applied', 'reverted') OR tier_after IS NOT NULL",
            name=op.f("ck_loyalty_reconciliation_applied_has_tier"),
        ),
        sa.CheckConstraint(
            "freshness_threshold_days IS NULL OR freshness_threshold_days > 0",
            name=op.f("ck_loyalty_reconciliation_threshold_positive"),
        ),
        sa.CheckConstraint(
            "imported_points_balance IS NULL OR imported_points_balance >= 0",
            name=op.f("ck_loyalty_reconciliation_points_nonneg"),
        ),
        sa.ForeignKeyConstraint(
            ["applied_by"], ["staff.id"], name=op.f("fk_loyalty_reconciliation_applied_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id", "casino_id"],
            ["import_batch.id", "import_batch.casino_id"],
            name=op.f("fk_loyalty_reconciliation_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id", "row_number"],
            ["import_row.batch_id", "import_row.row_number"],
            name=op.f("fk_loyalty_reconciliation_batch_id_import_row"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_loyalty_reconciliation_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["player.id"], name=op.f("fk_loyalty_reconciliation_player_id_player")
        ),
        sa.ForeignKeyConstraint(
            ["reverted_by"], ["staff.id"], name=op.f("fk_loyalty_reconciliation_reverted_by_staff")
        ),
        sa.PrimaryKeyConstraint("batch_id", "row_number", name=op.f("pk_loyalty_reconciliation")),
    )
    with op.batch_alter_table("loyalty_reconciliation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_reconciliation_batch_status",
            ["batch_id", "status", "row_number"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_loyalty_reconciliation_casino_id"), ["casino_id"], unique=False
        )
        batch_op.create_index(
            "ix_loyalty_reconciliation_player_status", ["player_id", "status"], unique=False
        )

    # Batches executed before this revision: their rows with loyalty fields wait for review.
    op.execute(BACKFILL)

    if is_postgres():
        tenant_table("loyalty_tier_mapping", "SELECT, INSERT, UPDATE, DELETE")
        tenant_table("loyalty_reconciliation", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    with op.batch_alter_table("loyalty_reconciliation", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_reconciliation_player_status")
        batch_op.drop_index(batch_op.f("ix_loyalty_reconciliation_casino_id"))
        batch_op.drop_index("ix_loyalty_reconciliation_batch_status")

    op.drop_table("loyalty_reconciliation")
    with op.batch_alter_table("loyalty_tier_mapping", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_tier_mapping_casino_id"))

    op.drop_table("loyalty_tier_mapping")
