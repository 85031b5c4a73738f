"""drift change tracking

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21

Incremental drift re-audit by change tracking instead of a time horizon. Triggers on both
backends append one ``drift_change`` row per new ledger entry (naming the entry) and one per
change of an account's cached balance (insert, balance update, delete), in the writing
transaction itself: a change becomes visible to the auditor together with what it records,
so a re-audit that consumes the changes it sees (and only those) can neither miss nor double
an entry, however late a transaction commits. ``drift_checkpoint`` gains the cached balance
as last audited (drifted accounts are found through a partial index, the in-balance majority
is never read), and ``drift_horizon`` keeps the casino's account count instead of a time.

Checkpoints written before this revision were horizon-based; they are dropped, and the next
audit of each casino rebuilds them from the whole ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.policies import is_postgres, tenant_table

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DRIFTED = "cached <> verified_sum"

SQLITE_TRIGGERS = (
    "CREATE TRIGGER loyalty_ledger_drift_change AFTER INSERT ON loyalty_ledger BEGIN"
    " INSERT INTO drift_change (casino_id, player_id, entry_id)"
    " VALUES (NEW.casino_id, NEW.player_id, NEW.id); END",
    "CREATE TRIGGER player_loyalty_drift_insert AFTER INSERT ON player_loyalty BEGIN"
    " INSERT INTO drift_change (casino_id, player_id) VALUES (NEW.casino_id, NEW.player_id);"
    " END",
    "CREATE TRIGGER player_loyalty_drift_update AFTER UPDATE OF current_balance"
    " ON player_loyalty WHEN OLD.current_balance IS NOT NEW.current_balance BEGIN"
    " INSERT INTO drift_change (casino_id, player_id) VALUES (NEW.casino_id, NEW.player_id);"
    " END",
    "CREATE TRIGGER player_loyalty_drift_delete AFTER DELETE ON player_loyalty BEGIN"
    " INSERT INTO drift_change (casino_id, player_id) VALUES (OLD.casino_id, OLD.player_id);"
    " END",
)

# Statement-level on Postgres: a bulk insert of a million entries records its changes in one
# INSERT … SELECT from the transition table, not a million trigger calls. The functions run
# as the writer, so row-level security checks each change like the row that caused it.
POSTGRES_FUNCTIONS = (
    """
    CREATE FUNCTION pitterm_drift_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO drift_change (casino_id, player_id, entry_id)
        SELECT casino_id, player_id, id FROM added;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION pitterm_drift_balances() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO drift_change (casino_id, player_id)
            SELECT casino_id, player_id FROM after_rows;
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO drift_change (casino_id, player_id)
            SELECT casino_id, player_id FROM before_rows;
        ELSE
            INSERT INTO drift_change (casino_id, player_id)
            SELECT a.casino_id, a.player_id
            FROM after_rows a
            JOIN before_rows b ON b.player_id = a.player_id AND b.casino_id = a.casino_id
            WHERE a.current_balance IS DISTINCT FROM b.current_balance;
        END IF;
        RETURN NULL;
    END
    $$
    """,
)
POSTGRES_TRIGGERS = (
    "CREATE TRIGGER loyalty_ledger_drift_change AFTER INSERT ON loyalty_ledger"
    " REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION pitterm_drift_entries()",
    "CREATE TRIGGER player_loyalty_drift_insert AFTER INSERT ON player_loyalty"
    " REFERENCING NEW TABLE AS after_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION pitterm_drift_balances()",
    "CREATE TRIGGER player_loyalty_drift_update AFTER UPDATE ON player_loyalty"
    " REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION pitterm_drift_balances()",
    "CREATE TRIGGER player_loyalty_drift_delete AFTER DELETE ON player_loyalty"
    " REFERENCING OLD TABLE AS before_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION pitterm_drift_balances()",
)
TRIGGERS = (
    ("loyalty_ledger", "loyalty_ledger_drift_change"),
    ("player_loyalty", "player_loyalty_drift_insert"),
    ("player_loyalty", "player_loyalty_drift_update"),
    ("player_loyalty", "player_loyalty_drift_delete"),
)


def upgrade() -> None:
    op.execute("DELETE FROM drift_checkpoint")
    op.execute("DELETE FROM drift_horizon")
    op.create_table(
        "drift_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            nullable=False,
        ),
        sa.Column("casino_id", sa.Uuid(), nullable=False),
        sa.Column("player_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_change")),
    )
    with op.batch_alter_table("drift_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_change_casino_id"), ["casino_id"], unique=False)
    with op.batch_alter_table("drift_checkpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cached", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_drift_checkpoint_drifted",
            ["casino_id", "player_id"],
            unique=False,
            sqlite_where=sa.text(DRIFTED),
            postgresql_where=sa.text(DRIFTED),
        )
    with op.batch_alter_table("drift_horizon", schema=None) as batch_op:
        batch_op.drop_column("through_at")
        batch_op.add_column(sa.Column("accounts", sa.BigInteger(), nullable=False))

    if is_postgres():
        tenant_table("drift_change", "SELECT, INSERT, DELETE")
        op.execute("GRANT DELETE ON drift_checkpoint TO pitterm_app")
        for function in POSTGRES_FUNCTIONS:
            op.execute(function)
        for trigger in POSTGRES_TRIGGERS:
            op.execute(trigger)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    for table, trigger in TRIGGERS:
        op.execute(
            f"DROP TRIGGER {trigger} ON {table}" if is_postgres() else f"DROP TRIGGER {trigger}"
        )
    if is_postgres():
        op.execute("DROP FUNCTION pitterm_drift_balances()")
        op.execute("DROP FUNCTION pitterm_drift_entries()")
        op.execute("REVOKE DELETE ON drift_checkpoint FROM pitterm_app")
    op.execute("DELETE FROM drift_checkpoint")
    op.execute("DELETE FROM drift_horizon")
    with op.batch_alter_table("drift_horizon", schema=None) as batch_op:
        batch_op.drop_column("accounts")
        batch_op.add_column(sa.Column("through_at", sa.DateTime(timezone=True), nullable=False))
    with op.batch_alter_table("drift_checkpoint", schema=None) as batch_op:
        batch_op.drop_index("ix_drift_checkpoint_drifted")
        batch_op.drop_column("cached")
    with op.batch_alter_table("drift_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_change_casino_id"))
    op.drop_table("drift_change")
