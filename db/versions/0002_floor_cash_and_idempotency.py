"""floor cash and idempotency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Buy-ins and cash-outs for the CTR/MTL watch, and the store of idempotent mutations'
outcomes. Both are insert-only for the application role.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.policies import is_postgres, tenant_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_idempotency_record_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_idempotency_record_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint(
            "casino_id",
            "idempotency_key",
            name=op.f("uq_idempotency_record_casino_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_record_casino_id"), ["casino_id"], unique=False
        )

    op.create_table(
        "cash_transaction",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("player_id", sa.Uuid(), nullable=True),
        sa.Column(
            "direction",
            sa.Enum(
                "cash_in",
                "cash_out",
                name="cash_direction",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_cash_transaction_amount_positive")),
        sa.ForeignKeyConstraint(
            ["casino_id"], ["casino.id"], name=op.f("fk_cash_transaction_casino_id_casino")
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["player.id"], name=op.f("fk_cash_transaction_player_id_player")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff.id"], name=op.f("fk_cash_transaction_recorded_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_cash_transaction_visit_id_visit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_transaction")),
    )
    with op.batch_alter_table("cash_transaction", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cash_transaction_casino_day", ["casino_id", "gaming_day"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cash_transaction_casino_id"), ["casino_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cash_transaction_visit_id"), ["visit_id"], unique=False
        )

    if is_postgres():
        tenant_table("cash_transaction", "SELECT, INSERT")
        tenant_table("idempotency_record", "SELECT, INSERT")


def downgrade() -> None:
    with op.batch_alter_table("cash_transaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_transaction_visit_id"))
        batch_op.drop_index(batch_op.f("ix_cash_transaction_casino_id"))
        batch_op.drop_index("ix_cash_transaction_casino_day")

    op.drop_table("cash_transaction")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_casino_id"))

    op.drop_table("idempotency_record")
