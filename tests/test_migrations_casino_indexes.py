"""Migration 0010: the single-column casino_id indexes a composite index already covers are
gone, the downgrade brings them back, and the idempotency key lookup now uses its unique
(casino_id, idempotency_key) index instead of scanning the casino's stored outcomes."""

from __future__ import annotations

import importlib
import uuid

import pytest
from alembic import command
from sqlalchemy import inspect, text

import db
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.idempotency import _FIND
from tests.factories import build_casino
from tests.test_migrations import schema_differences

REDUNDANT: dict[str, str] = importlib.import_module(
    "db.versions.0010_drop_redundant_casino_indexes"
).REDUNDANT


def _indexes(database: Database, table: str) -> dict[str, list[str]]:
    """Index and unique-constraint names of ``table`` with their columns."""
    with database.raw() as conn:
        found = inspect(conn)
        named = {
            ix["name"]: [str(c) for c in ix["column_names"]] for ix in found.get_indexes(table)
        }
        for unique in found.get_unique_constraints(table):
            named[unique["name"]] = [str(c) for c in unique["column_names"]]
    return {name: columns for name, columns in named.items() if name}


def test_only_covered_casino_indexes_are_dropped_and_downgrade_restores_them(
    backend: Database,
) -> None:
    for table, covering in REDUNDANT.items():
        indexes = _indexes(backend, table)
        assert f"ix_{table}_casino_id" not in indexes, table
        assert indexes[covering][0] == "casino_id" and len(indexes[covering]) > 1, table
    # A table with no covering composite keeps its own.
    assert _indexes(backend, "rating_slip_pause")["ix_rating_slip_pause_casino_id"] == ["casino_id"]

    config = db.config(backend.engine)
    command.downgrade(config, "0009")
    for table in REDUNDANT:
        assert _indexes(backend, table)[f"ix_{table}_casino_id"] == ["casino_id"], table

    command.upgrade(config, "head")
    assert db.current_revision(backend.engine) == db.head_revision()
    for table in REDUNDANT:
        assert f"ix_{table}_casino_id" not in _indexes(backend, table), table
    assert schema_differences(backend) == []


@pytest.mark.postgres
def test_the_key_lookup_uses_the_unique_key_index(pg_database: Database) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    with pg_database.raw() as conn:
        conn.execute(
            text(
                "INSERT INTO idempotency_record (id, casino_id, idempotency_key, operation,"
                " request_hash, result, staff_id, created_at)"
                " SELECT gen_random_uuid(), :casino, gen_random_uuid(), 'test', 'h', '{}',"
                " :staff, now() FROM generate_series(1, 500)"
            ),
            {"casino": boss.casino_id, "staff": boss.staff_id},
        )
        # Index choice only: without the redundant index the planner picked it and filtered
        # all 500 of the casino's outcomes by key.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        sql = str(_FIND.plan(conn.dialect).sql)
        plan = "\n".join(
            conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, COSTS OFF) {sql}",
                {"casino_id": boss.casino_id, "key": uuid.uuid4()},
            ).scalars()
        )
        conn.rollback()
    assert "uq_idempotency_record_casino_id_idempotency_key" in plan, plan
    assert "Rows Removed by Filter" not in plan, plan
