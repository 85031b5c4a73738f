"""The migrations are the schema: they match the models, re-run harmlessly, and go both ways."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import db
from pitterm.domain.database import Database
from pitterm.domain.tables import Base, casino_scoped_tables


def schema_differences(database: Database) -> list[Any]:
    with database.raw() as conn:
        # Types are compared with alembic's own rules; pitterm's portable types (decimal text
        # and JSON variants) need no special casing: their dialect implementations are what
        # the migrations create, so any difference reported here is a real one.
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_matches_the_models(backend: Database) -> None:
    assert db.current_revision(backend.engine) == db.head_revision()
    diffs = schema_differences(backend)
    assert diffs == [], "\n".join(map(repr, diffs))


def test_schema_comparison_notices_a_missing_index(backend: Database) -> None:
    # The comparison is only worth something if it can fail: drop an index behind its back.
    with backend.raw() as conn:
        conn.execute(text("DROP INDEX ix_loyalty_ledger_slip"))
        conn.commit()
    diffs = schema_differences(backend)
    assert [d[0] for d in diffs] == ["add_index"], diffs
    assert diffs[0][1].name == "ix_loyalty_ledger_slip"


def test_schema_comparison_notices_a_changed_column_type(pg_database: Database) -> None:
    with pg_database.raw() as conn:
        conn.execute(text("ALTER TABLE game_settings ALTER COLUMN house_edge TYPE numeric(7, 2)"))
        conn.commit()
    diffs = schema_differences(pg_database)
    assert len(diffs) == 1, diffs
    (modification,) = diffs[0]  # column modifications come grouped, one list per column
    kind, _schema, table, column, *_ = modification
    assert (kind, table, column) == ("modify_type", "game_settings", "house_edge")


# Seed 003 Appendix A: the ledger's partial unique indexes, with their predicates (alembic's
# comparison checks an index's columns and uniqueness, not its WHERE clause).
APPENDIX_A_INDEXES = {
    "ux_loyalty_ledger_idem": (
        ["casino_id", "idempotency_key"],
        "idempotency_key IS NOT NULL",
    ),
    "ux_loyalty_ledger_base_accrual": (
        ["casino_id", "source_kind", "source_id", "reason"],
        "reason = 'base_accrual'",
    ),
}


def _normalise(sql: str) -> str:
    return " ".join(sql.replace("(", " ").replace(")", " ").replace("::text", "").split()).lower()


def test_appendix_a_ledger_indexes_are_partial_and_unique(backend: Database) -> None:
    with backend.raw() as conn:
        indexes = {ix["name"]: ix for ix in inspect(conn).get_indexes("loyalty_ledger")}
        for name, (columns, predicate) in APPENDIX_A_INDEXES.items():
            assert indexes[name]["unique"], name
            assert indexes[name]["column_names"] == columns, name
            if backend.engine.dialect.name == "postgresql":
                sql = conn.scalar(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}
                )
            else:
                sql = conn.scalar(
                    text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"),
                    {"n": name},
                )
            assert _normalise(f"WHERE {predicate}") in _normalise(sql), sql
        pk = inspect(conn).get_pk_constraint("player_loyalty")
    assert pk["constrained_columns"] == ["player_id", "casino_id"]


def test_upgrade_twice_is_a_no_op(backend: Database) -> None:
    head = db.head_revision()
    assert head is not None
    with backend.raw() as conn:
        tables_before = sorted(inspect(conn).get_table_names())
    db.upgrade(backend.engine)
    db.upgrade(backend.engine)
    assert db.current_revision(backend.engine) == head
    with backend.raw() as conn:
        assert sorted(inspect(conn).get_table_names()) == tables_before
        (versions,) = conn.execute(text("SELECT count(*) FROM alembic_version")).one()
    assert versions == 1


def test_downgrade_to_base_then_upgrade_to_head(backend: Database) -> None:
    config = db.config(backend.engine)
    command.downgrade(config, "base")
    assert db.current_revision(backend.engine) is None
    with backend.raw() as conn:
        left = set(inspect(conn).get_table_names()) - {"alembic_version"}
    assert left == set(), f"downgrade to base left tables behind: {sorted(left)}"

    command.upgrade(config, "head")
    assert db.current_revision(backend.engine) == db.head_revision()
    assert schema_differences(backend) == []
    with backend.raw() as conn:
        assert set(casino_scoped_tables()) <= set(inspect(conn).get_table_names())


def test_downgrade_to_base_then_upgrade_restores_postgres_security(
    pg_database: Database,
) -> None:
    # The role pitterm_app is cluster-wide and deliberately survives the downgrade; the
    # triggers, grants and policies are per table and must all come back on upgrade.
    config = db.config(pg_database.engine)
    command.downgrade(config, "base")
    with pg_database.raw() as conn:
        (role_exists,) = conn.execute(
            text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": db.APP_ROLE}
        ).one()
    assert role_exists == 1
    command.upgrade(config, "head")
    with pg_database.raw() as conn:
        triggers = set(
            conn.scalars(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                    " AND tgrelid::regclass::text IN ('loyalty_ledger', 'audit_log')"
                )
            )
        )
        policies = set(conn.scalars(text("SELECT tablename FROM pg_policies")))
        can_insert_ledger = conn.scalar(
            text("SELECT has_table_privilege(:r, 'loyalty_ledger', 'INSERT')"),
            {"r": db.APP_ROLE},
        )
    assert triggers == {
        "loyalty_ledger_refuse_change",
        "loyalty_ledger_refuse_truncate",
        "audit_log_refuse_change",
        "audit_log_refuse_truncate",
        "loyalty_ledger_drift_change",  # drift change tracking (0008)
    }
    assert set(casino_scoped_tables()) <= policies
    assert can_insert_ledger is True
