"""player import

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

The player CSV import's staging tables (DESIGN §8): one import_batch per file and casino
(unique by content hash), and its import_row rows keyed by (batch_id, row_number), so a
resumed import can never stage a row twice; one composite foreign key ties each row to its
batch and the batch's casino. Rows keep the staged loyalty fields for tier
reconciliation. On Postgres both are tenant tables; the app role may delete import rows
(a failed batch's rows are removed before it is restarted), never batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.policies import is_postgres, tenant_table

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("encoding_note", sa.String(length=200), nullable=True),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("header", JSONDOC, nullable=False),
        sa.Column("mapping", JSONDOC, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "staging",
                "staged",
                "executing",
                "executed",
                "failed",
                name="import_batch_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("linked_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_by", sa.Uuid(), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "created_count >= 0 AND linked_count >= 0 AND skipped_count >= 0"
            " AND created_count + linked_count + skipped_count <= row_count",
            name=op.f("ck_import_batch_outcome_counts"),
        ),
        sa.CheckConstraint("file_size >= 0", name=op.f("ck_import_batch_size_nonneg")),
        sa.CheckConstraint(
            "row_count >= 0 AND error_count >= 0 AND error_count <= row_count",
            name=op.f("ck_import_batch_row_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_import_batch_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_import_batch_created_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["executed_by"], ["staff.id"], name=op.f("fk_import_batch_executed_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
        sa.UniqueConstraint(
            "casino_id", "content_sha256", name=op.f("uq_import_batch_casino_id_content_sha256")
        ),
        sa.UniqueConstraint("id", "casino_id", name=op.f("uq_import_batch_id_casino_id")),
    )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_import_batch_casino_created", ["casino_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_batch_casino_id"), ["casino_id"], unique=False)

    op.create_table(
        "import_row",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "staged",
                "error",
                name="import_row_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("errors", JSONDOC, nullable=False),
        sa.Column("raw_values", JSONDOC, nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=True),
        sa.Column("last_name", sa.String(length=80), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("loyalty_card_number", sa.String(length=32), nullable=True),
        sa.Column("imported_tier", sa.String(length=64), nullable=True),
        sa.Column("imported_points_balance", sa.BigInteger(), nullable=True),
        sa.Column("imported_last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "created",
                "linked",
                "skipped",
                name="import_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("outcome_reason", sa.String(length=200), nullable=True),
        sa.Column("player_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR status = 'staged' OR outcome = 'skipped'",
            name=op.f("ck_import_row_error_rows_are_skipped"),
        ),
        sa.CheckConstraint(
            "imported_points_balance IS NULL OR imported_points_balance >= 0",
            name=op.f("ck_import_row_points_nonneg"),
        ),
        sa.CheckConstraint(
            "row_number >= 1 AND line_number >= 1", name=op.f("ck_import_row_numbers_positive")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id", "casino_id"],
            ["import_batch.id", "import_batch.casino_id"],
            name=op.f("fk_import_row_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["player.id"], name=op.f("fk_import_row_player_id_player")
        ),
        sa.PrimaryKeyConstraint("batch_id", "row_number", name=op.f("pk_import_row")),
    )

    if is_postgres():
        tenant_table("import_batch", "SELECT, INSERT, UPDATE")
        tenant_table("import_row", "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.drop_table("import_row")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batch_casino_id"))
        batch_op.drop_index("ix_import_batch_casino_created")

    op.drop_table("import_batch")
