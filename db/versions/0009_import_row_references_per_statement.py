"""import rows checked per statement

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

Staging a million-row file inserts a million ``import_row`` rows. On Postgres each of its two
foreign keys — to ``import_batch`` (batch_id, casino_id) and to ``player`` (player_id, null
while staging) — queued a check of its own for every row, which was most of the database's
time. Here both are replaced, on Postgres only, by triggers that keep the same guarantees —
every import row belongs to an existing batch of the same casino, and names an existing
player or none — checked once per statement:

* after every INSERT into ``import_row`` and every UPDATE of it, one query over the
  statement's new rows refuses the statement if any (batch_id, casino_id) is not an
  ``import_batch`` (id, casino_id), or any player_id is not a ``player``; the batches and
  players named are locked FOR KEY SHARE first, as the foreign keys locked them, so none can
  be deleted or re-keyed until the writing transaction ends;
* deleting a batch or a player, or changing its id (a batch's casino_id too), is refused
  while import rows reference it.

The functions run as their owner (the foreign keys' checks did too), with a fixed search
path. SQLite keeps the foreign keys: it checks rows in-process, cheaply.

The row-level security policy of ``import_row`` is rewritten with the current casino read
once per statement (an initplan) rather than once per row; what it allows is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from db.policies import APP_ROLE, TENANT_PREDICATE, is_postgres

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_KEY = "fk_import_row_batch_id_import_batch"
PLAYER_KEY = "fk_import_row_player_id_player"
ONCE_PER_STATEMENT = "casino_id = (SELECT NULLIF(current_setting('app.casino_id', true), '')::uuid)"


def _refusal(operation: str, table: str, key: str, detail: str) -> str:
    """A RAISE worded as Postgres words a foreign-key violation (SQLSTATE 23503)."""
    return (
        f'RAISE EXCEPTION \'{operation} on table "{table}" violates foreign key constraint'
        f" \"{key}\"' USING ERRCODE = 'foreign_key_violation', DETAIL = {detail},"
        f" TABLE = '{table}', CONSTRAINT = '{key}';"
    )


FUNCTIONS = (
    f"""
    CREATE FUNCTION pitterm_import_rows_referenced() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        PERFORM 1 FROM import_batch b
        WHERE b.id IN (SELECT batch_id FROM written)
        ORDER BY b.id
        FOR KEY SHARE OF b;
        IF EXISTS (
            SELECT 1 FROM (SELECT DISTINCT batch_id, casino_id FROM written) w
            WHERE NOT EXISTS (
                SELECT 1 FROM import_batch b WHERE b.id = w.batch_id AND b.casino_id = w.casino_id
            )
        ) THEN
            {
        _refusal(
            "write",
            "import_row",
            BATCH_KEY,
            "'Every import row belongs to an import batch of its casino.'",
        )
    }
        END IF;
        IF EXISTS (SELECT 1 FROM written WHERE player_id IS NOT NULL) THEN
            PERFORM 1 FROM player p
            WHERE p.id IN (SELECT player_id FROM written)
            ORDER BY p.id
            FOR KEY SHARE OF p;
            IF EXISTS (
                SELECT 1 FROM (SELECT DISTINCT player_id FROM written) w
                WHERE w.player_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM player p WHERE p.id = w.player_id)
            ) THEN
                {
        _refusal(
            "write", "import_row", PLAYER_KEY, "'An import row names an existing player, or none.'"
        )
    }
            END IF;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION pitterm_import_batch_keeps_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        IF (TG_OP = 'DELETE'
                OR (NEW.id, NEW.casino_id) IS DISTINCT FROM (OLD.id, OLD.casino_id))
            AND EXISTS (SELECT 1 FROM import_row r WHERE r.batch_id = OLD.id) THEN
            {
        _refusal(
            "delete or update",
            "import_batch",
            BATCH_KEY,
            "format('Import batch %s still has import rows.', OLD.id)",
        )
    }
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE FUNCTION pitterm_player_keeps_import_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        IF (TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id)
            AND EXISTS (SELECT 1 FROM import_row r WHERE r.player_id = OLD.id) THEN
            {
        _refusal(
            "delete or update",
            "player",
            PLAYER_KEY,
            "format('Player %s is named by import rows.', OLD.id)",
        )
    }
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
)
TRIGGERS = (
    "CREATE TRIGGER import_row_inserted_referenced AFTER INSERT ON import_row"
    " REFERENCING NEW TABLE AS written"
    " FOR EACH STATEMENT EXECUTE FUNCTION pitterm_import_rows_referenced()",
    "CREATE TRIGGER import_row_updated_referenced AFTER UPDATE ON import_row"
    " REFERENCING NEW TABLE AS written"
    " FOR EACH STATEMENT EXECUTE FUNCTION pitterm_import_rows_referenced()",
    "CREATE TRIGGER import_batch_keeps_rows BEFORE DELETE OR UPDATE OF id, casino_id"
    " ON import_batch FOR EACH ROW EXECUTE FUNCTION pitterm_import_batch_keeps_rows()",
    "CREATE TRIGGER player_keeps_import_rows BEFORE DELETE OR UPDATE OF id"
    " ON player FOR EACH ROW EXECUTE FUNCTION pitterm_player_keeps_import_rows()",
)
TRIGGER_NAMES = (
    ("import_row", "import_row_inserted_referenced"),
    ("import_row", "import_row_updated_referenced"),
    ("import_batch", "import_batch_keeps_rows"),
    ("player", "player_keeps_import_rows"),
)
FUNCTION_NAMES = (
    "pitterm_import_rows_referenced",
    "pitterm_import_batch_keeps_rows",
    "pitterm_player_keeps_import_rows",
)


def _policy(predicate: str) -> None:
    op.execute("DROP POLICY tenant_isolation ON import_row")
    op.execute(
        f"CREATE POLICY tenant_isolation ON import_row TO {APP_ROLE} "
        f"USING ({predicate}) WITH CHECK ({predicate})"
    )


def upgrade() -> None:
    if not is_postgres():
        return
    for function in FUNCTIONS:
        op.execute(function)
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(f"ALTER TABLE import_row DROP CONSTRAINT {BATCH_KEY}")
    op.execute(f"ALTER TABLE import_row DROP CONSTRAINT {PLAYER_KEY}")
    _policy(ONCE_PER_STATEMENT)


def downgrade() -> None:
    if not is_postgres():
        return
    _policy(TENANT_PREDICATE)
    op.execute(
        f"ALTER TABLE import_row ADD CONSTRAINT {PLAYER_KEY} FOREIGN KEY (player_id)"
        " REFERENCES player (id)"
    )
    op.execute(
        f"ALTER TABLE import_row ADD CONSTRAINT {BATCH_KEY} FOREIGN KEY (batch_id, casino_id)"
        " REFERENCES import_batch (id, casino_id)"
    )
    for table, trigger in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for function in FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION {function}()")
