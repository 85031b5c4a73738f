"""drift checkpoints

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

Drift audit checkpoints: a casino's horizon and each account's verified ledger sum through it,
so an incremental re-audit scans only the entries added since.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.policies import is_postgres, tenant_table

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drift_checkpoint",
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("player_id", sa.Uuid(), nullable=False),
        sa.Column("verified_sum", sa.BigInteger(), nullable=False),
        sa.Column("verified_entries", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_drift_checkpoint_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["player.id"], name=op.f("fk_drift_checkpoint_player_id_player")
        ),
        sa.PrimaryKeyConstraint("casino_id", "player_id", name=op.f("pk_drift_checkpoint")),
    )
    op.create_table(
        "drift_horizon",
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("through_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audited_by", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audited_by"], ["staff.id"], name=op.f("fk_drift_horizon_audited_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_drift_horizon_casino_id_casino")
        ),
        sa.PrimaryKeyConstraint("casino_id", name=op.f("pk_drift_horizon")),
    )

    if is_postgres():
        tenant_table("drift_horizon", "SELECT, INSERT, UPDATE")
        tenant_table("drift_checkpoint", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    op.drop_table("drift_horizon")
    op.drop_table("drift_checkpoint")
