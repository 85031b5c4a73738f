"""drop redundant casino_id indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22

Every casino-scoped table had an index on ``casino_id`` alone. On the tables below a
composite index or unique constraint leading with ``casino_id`` serves every lookup that one
could (an equality on casino_id, and the foreign key's checks), so the single-column index
only cost each insert and each non-HOT update another index entry — on the ledger, audit and
stored-outcome rows every comp writes. It also misled the planner: on a young
``idempotency_record`` table the key lookup chose the casino_id index and filtered every
stored outcome of the casino, a cost that grew with each request, instead of the unique
(casino_id, idempotency_key) index.

Tables without such a composite keep theirs (import tables, pauses, bets, mappings,
reconciliation records, drift changes).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REDUNDANT = {
    # table: the index or unique constraint leading with casino_id that covers it
    "audit_log": "ix_audit_log_casino_created",
    "cash_transaction": "ix_cash_transaction_casino_day",
    "comp_item": "uq_comp_item_casino_id_name",
    "game_settings": "uq_game_settings_casino_id_name",
    "gaming_table": "uq_gaming_table_casino_id_label",
    "idempotency_record": "uq_idempotency_record_casino_id_idempotency_key",
    "loyalty_ledger": "ix_loyalty_ledger_casino_created",
    "player": "ix_player_casino_last_first",
    "promo_coupon": "ix_promo_coupon_casino_issued",
    "promo_program": "uq_promo_program_casino_id_name",
    "rating_slip": "ix_rating_slip_casino_status",
    "staff": "uq_staff_casino_id_code",
    "visit": "ix_visit_casino_status",
}


def upgrade() -> None:
    for table in REDUNDANT:
        op.drop_index(f"ix_{table}_casino_id", table_name=table)


def downgrade() -> None:
    for table in REDUNDANT:
        op.create_index(f"ix_{table}_casino_id", table, ["casino_id"], unique=False)
