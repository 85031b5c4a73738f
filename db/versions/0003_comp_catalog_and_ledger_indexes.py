"""comp catalog and ledger indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

The comp catalog, and ledger indexes for history filters by reason and by slip.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.policies import is_postgres, tenant_table

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comp_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("points_cost", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points_cost > 0", name=op.f("ck_comp_item_cost_positive")),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_comp_item_casino_id_casino")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comp_item")),
        sa.UniqueConstraint("casino_id", "name", name=op.f("uq_comp_item_casino_id_name")),
    )
    with op.batch_alter_table("comp_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comp_item_casino_id"), ["casino_id"], unique=False)

    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_ledger_casino_reason_created",
            ["casino_id", "reason", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_loyalty_ledger_slip", ["rating_slip_id"], unique=False)

    if is_postgres():
        tenant_table("comp_item", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_ledger_slip")
        batch_op.drop_index("ix_loyalty_ledger_casino_reason_created")

    with op.batch_alter_table("comp_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comp_item_casino_id"))

    op.drop_table("comp_item")
