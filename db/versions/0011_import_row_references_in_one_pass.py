"""import rows' references checked in one pass

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22

0009's statement-level check of ``import_row`` read the statement's new rows (the transition
table) three times for a staging chunk — once to lock the batches named, once for the
(batch, casino) pairs, once for players — and five times when players were named; on a
10,000-row chunk that was about a sixth of the database's time. Here the same check reads
them once: the distinct (batch, casino, player) triples, then the locks and both tests over
those few, in one query. What is refused, the locks taken (FOR KEY SHARE, in id order) and the errors
raised (SQLSTATE 23503 naming the foreign key) are 0009's. Postgres only.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from alembic import op

from db.policies import is_postgres

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_0009 = importlib.import_module("db.versions.0009_import_row_references_per_statement")

ONE_PASS = f"""
    CREATE OR REPLACE FUNCTION pitterm_import_rows_referenced() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DECLARE
        batches_locked bigint;
        players_locked bigint;
        orphan boolean;
        unknown_player boolean;
    BEGIN
        -- Each CTE is materialised and read whole by the counts (evaluated first, in order),
        -- so every batch, then every player, named is locked before either test reads them.
        WITH named AS MATERIALIZED (
            SELECT DISTINCT batch_id, casino_id, player_id FROM written
        ), batches AS MATERIALIZED (
            SELECT b.id, b.casino_id FROM import_batch b
            WHERE b.id IN (SELECT batch_id FROM named)
            ORDER BY b.id
            FOR KEY SHARE OF b
        ), players AS MATERIALIZED (
            SELECT p.id FROM player p
            WHERE p.id IN (SELECT player_id FROM named)
            ORDER BY p.id
            FOR KEY SHARE OF p
        )
        SELECT
            (SELECT count(*) FROM batches),
            (SELECT count(*) FROM players),
            EXISTS (
                SELECT 1 FROM named n
                WHERE NOT EXISTS (
                    SELECT 1 FROM batches b
                    WHERE b.id = n.batch_id AND b.casino_id = n.casino_id
                )
            ),
            EXISTS (
                SELECT 1 FROM named n
                WHERE n.player_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM players p WHERE p.id = n.player_id)
            )
        INTO batches_locked, players_locked, orphan, unknown_player;
        IF orphan THEN
            {
    _0009._refusal(
        "write",
        "import_row",
        _0009.BATCH_KEY,
        "'Every import row belongs to an import batch of its casino.'",
    )
}
        END IF;
        IF unknown_player THEN
            {
    _0009._refusal(
        "write",
        "import_row",
        _0009.PLAYER_KEY,
        "'An import row names an existing player, or none.'",
    )
}
        END IF;
        RETURN NULL;
    END
    $$
    """


def upgrade() -> None:
    if is_postgres():
        op.execute(ONE_PASS)


def downgrade() -> None:
    if is_postgres():
        op.execute(_0009.FUNCTIONS[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
