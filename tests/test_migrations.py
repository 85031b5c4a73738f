"""The migrations are the schema: they match the models, re-run harmlessly, and go both ways."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, exc, func, insert, inspect, select, text, update

import db
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.tables import (
    ENFORCED_BY_TRIGGER_ON_POSTGRES,
    Base,
    ImportBatch,
    ImportRow,
    Player,
    casino_scoped_tables,
)
from tests.factories import build_casino
from tests.import_support import row_numbers, stage_sample


def schema_differences(database: Database) -> list[Any]:
    postgres = database.engine.dialect.name == "postgresql"

    def compared(item: Any, _name: Any, kind: str, reflected: bool, _other: Any) -> bool:
        # A foreign key Postgres enforces by triggers (0009) is expected on SQLite only;
        # test_import_row_batch_key_is_enforced_by_triggers_on_postgres checks the triggers.
        return not (
            postgres
            and kind == "foreign_key_constraint"
            and not reflected
            and item.info.get(ENFORCED_BY_TRIGGER_ON_POSTGRES)
        )

    with database.raw() as conn:
        # Types are compared with alembic's own rules; pitterm's portable types (decimal text
        # and JSON variants) need no special casing: their dialect implementations are what
        # the migrations create, so any difference reported here is a real one.
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": compared}
        )
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


# --- import rows reference their batch and player: foreign keys, or on Postgres triggers (0009) --


def _staged_batch(database: Database, code: str) -> tuple[Any, Any, Any]:
    """A casino with a staged two-row batch: (casino id, batch id, loyalty manager)."""
    world = build_casino(database, code)
    actor = world.actor(StaffRole.LOYALTY_MANAGER)
    batch = stage_sample(database, actor).batch
    return actor.casino_id, batch.id, actor


def _row(batch_id: Any, casino_id: Any, row_number: int, player: Any = None) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "row_number": row_number,
        "casino_id": casino_id,
        "line_number": row_number + 1,
        "status": "staged",
        "errors": [],
        "raw_values": {},
        "player_id": player,
    }


def _bare_player(database: Database, casino_id: Any) -> Any:
    """A player row that nothing but an import row will reference."""
    player_id = uuid.uuid4()
    with database.raw() as conn:
        conn.execute(
            insert(Player.__table__).values(
                id=player_id,
                casino_id=casino_id,
                first_name="Rita",
                last_name="Hayworth",
                created_at=database.clock.now(),
            )
        )
        conn.commit()
    return player_id


def _refused(database: Database, statement: Any, rows: Any = None) -> str:
    """Run ``statement`` as the owner: it must fail on integrity and leave nothing."""
    with database.raw() as conn:
        with pytest.raises(exc.IntegrityError) as raised:
            conn.execute(statement, rows) if rows is not None else conn.execute(statement)
        conn.rollback()
    return str(raised.value)


BATCH_KEY = "fk_import_row_batch_id_import_batch"
PLAYER_KEY = "fk_import_row_player_id_player"
IMPORT_TRIGGERS = {
    "import_row_inserted_referenced",
    "import_row_updated_referenced",
    "import_batch_keeps_rows",
    "player_keeps_import_rows",
}


def test_import_rows_reference_their_batch_and_player_on_both_backends(
    backend: Database,
) -> None:
    """An orphan row, a row under another casino's batch, a row naming no player, a row
    moved out of its batch, and a batch or player deleted from under its rows: all refused,
    by foreign keys on SQLite and by statement-level triggers on Postgres (0009, checked in
    one pass since 0011)."""
    _references_hold(backend, _two_batches(backend, ("ALPHA", "BRAVO")))


def test_0011s_one_pass_check_refuses_what_0009s_did(pg_database: Database) -> None:
    """Downgraded to 0010 (0009's check) the same cases are refused; back at head, again.
    (The batches are staged at head: the services need the head schema.)"""
    config = db.config(pg_database.engine)
    batches = _two_batches(pg_database, ("ALPHA", "BRAVO"))
    command.downgrade(config, "0010")
    _references_hold(pg_database, batches)
    command.upgrade(config, "head")
    _references_hold(pg_database, _two_batches(pg_database, ("CHARLIE", "DELTA")))


@pytest.mark.parametrize("revision", ["head", "0010"])
def test_the_check_locks_the_batches_and_players_a_write_names(
    pg_database: Database, revision: str
) -> None:
    """Until the writing transaction ends, the batch and player its import rows name cannot
    be locked for update (deleted or re-keyed) elsewhere, as the foreign keys' checks held."""
    config = db.config(pg_database.engine)
    casino_id, batch_id, _actor = _staged_batch(pg_database, "ALPHA")
    player_id = _bare_player(pg_database, casino_id)
    if revision != "head":
        command.downgrade(config, revision)
    with pg_database.raw() as writer, pg_database.raw() as other:
        writer.execute(insert(ImportRow.__table__), [_row(batch_id, casino_id, 3, player_id)])
        for table, key in (("import_batch", batch_id), ("player", player_id)):
            with pytest.raises(exc.OperationalError) as raised:
                other.execute(
                    text(f"SELECT 1 FROM {table} WHERE id = :id FOR UPDATE NOWAIT"), {"id": key}
                )
            assert "could not obtain lock" in str(raised.value)
            other.rollback()
        writer.rollback()
        for table, key in (("import_batch", batch_id), ("player", player_id)):
            other.execute(
                text(f"SELECT 1 FROM {table} WHERE id = :id FOR UPDATE NOWAIT"), {"id": key}
            )
            other.rollback()
    command.upgrade(config, "head")


Batches = tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]


def _two_batches(backend: Database, codes: tuple[str, str]) -> Batches:
    return _staged_batch(backend, codes[0]), _staged_batch(backend, codes[1])


def _references_hold(backend: Database, batches: Batches) -> None:
    (casino_id, batch_id, _actor), (other_casino, other_batch, _other) = batches
    rows = insert(ImportRow.__table__)
    _refused(backend, rows, [_row(uuid.uuid4(), casino_id, 3)])
    _refused(backend, rows, [_row(batch_id, other_casino, 3)])  # the batch of another casino
    _refused(backend, rows, [_row(batch_id, casino_id, 3, player=uuid.uuid4())])
    # One orphan among good rows refuses the whole statement.
    _refused(backend, rows, [_row(batch_id, casino_id, 3), _row(uuid.uuid4(), casino_id, 4)])
    assert row_numbers(backend, batch_id) == [1, 2]

    table, batches, players = ImportRow.__table__, ImportBatch.__table__, Player.__table__
    first = update(table).where(table.c.batch_id == batch_id, table.c.row_number == 1)
    _refused(backend, first.values(batch_id=uuid.uuid4()))
    _refused(backend, first.values(casino_id=other_casino))
    _refused(backend, first.values(batch_id=other_batch))  # that batch is another casino's
    _refused(backend, first.values(player_id=uuid.uuid4()))
    this_batch = batches.c.id == batch_id
    _refused(backend, delete(batches).where(this_batch))
    _refused(backend, update(batches).where(this_batch).values(id=uuid.uuid4()))
    _refused(backend, update(batches).where(this_batch).values(casino_id=other_casino))

    player_id = _bare_player(backend, casino_id)
    with backend.raw() as conn:
        conn.execute(rows, [_row(batch_id, casino_id, 3, player=player_id)])
        conn.execute(first.values(player_id=player_id))
        conn.commit()
    this_player = players.c.id == player_id
    _refused(backend, delete(players).where(this_player))
    _refused(backend, update(players).where(this_player).values(id=uuid.uuid4()))
    assert row_numbers(backend, batch_id) == [1, 2, 3]

    with backend.raw() as conn:  # unreferenced, a player or a batch may go (owner cleanup)
        conn.execute(update(table).where(table.c.batch_id == batch_id).values(player_id=None))
        conn.execute(delete(players).where(this_player))
        conn.execute(delete(table).where(table.c.batch_id == batch_id))
        conn.execute(update(batches).where(this_batch).values(file_name="renamed.csv"))
        conn.execute(delete(batches).where(this_batch))
        conn.commit()
        assert conn.scalar(select(func.count()).select_from(batches).where(this_batch)) == 0


def test_postgres_checks_import_rows_per_statement_not_per_row(
    pg_database: Database, app_database: Database
) -> None:
    """0009: import_row has no foreign keys on Postgres; its triggers name the key they
    stand for, and refuse the application role (under row-level security) just the same."""
    casino_id, batch_id, actor = _staged_batch(pg_database, "ALPHA")
    with pg_database.raw() as conn:
        keys = conn.scalars(
            text(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'import_row'::regclass"
                " AND contype = 'f'"
            )
        ).all()
        triggers = set(
            conn.scalars(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                    " AND tgrelid::regclass::text IN ('import_row', 'import_batch', 'player')"
                )
            )
        )
    assert keys == []
    assert triggers == IMPORT_TRIGGERS
    rows = insert(ImportRow.__table__)
    for row, key in (
        (_row(uuid.uuid4(), casino_id, 9), BATCH_KEY),
        (_row(batch_id, casino_id, 9, player=uuid.uuid4()), PLAYER_KEY),
    ):
        with app_database.uow(actor) as uow, pytest.raises(exc.IntegrityError) as raised:
            uow.session.execute(rows, [row])
        assert key in str(raised.value)
    assert row_numbers(pg_database, batch_id) == [1, 2]


def test_downgrading_0009_restores_the_foreign_keys(pg_database: Database) -> None:
    config = db.config(pg_database.engine)
    casino_id, batch_id, _actor = _staged_batch(pg_database, "ALPHA")
    command.downgrade(config, "0008")
    with pg_database.raw() as conn:
        keys = set(
            conn.scalars(
                text(
                    "SELECT conname FROM pg_constraint WHERE conrelid = 'import_row'::regclass"
                    " AND contype = 'f'"
                )
            )
        )
        triggers = conn.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(:names)"),
            {"names": list(IMPORT_TRIGGERS)},
        )
    assert (keys, triggers) == ({BATCH_KEY, PLAYER_KEY}, 0)
    rows = insert(ImportRow.__table__)
    assert BATCH_KEY in _refused(pg_database, rows, [_row(uuid.uuid4(), casino_id, 5)])
    command.upgrade(config, "head")
    assert schema_differences(pg_database) == []
    assert BATCH_KEY in _refused(pg_database, rows, [_row(uuid.uuid4(), casino_id, 5)])
    assert row_numbers(pg_database, batch_id) == [1, 2]


# --- the acting staff member's row, read at the start of every transaction (0012) ----------


def test_the_acting_staff_function_answers_only_within_the_transactions_casino(
    pg_database: Database, app_database: Database
) -> None:
    """As the application role, scoped to ALPHA: ALPHA's pit boss's row (the four columns
    the check needs), nothing for BRAVO's — as row-level security would answer."""
    alpha, bravo = build_casino(pg_database, "ALPHA"), build_casino(pg_database, "BRAVO")
    boss = alpha.actor(StaffRole.PIT_BOSS)
    other = bravo.actor(StaffRole.PIT_BOSS)
    call = text("SELECT * FROM pitterm_acting_staff(:staff)")
    with app_database.reader(alpha.scope) as uow:
        mine = uow.execute(call, {"staff": boss.staff_id}).all()
        theirs = uow.execute(call, {"staff": other.staff_id}).all()
    assert [tuple(row) for row in mine] == [("PB1", True, False, "pit_boss")]
    assert theirs == []
    with pg_database.raw() as conn:
        public = conn.scalar(
            text("SELECT has_function_privilege('public', 'pitterm_acting_staff(uuid)', 'EXECUTE')")
        )
    assert public is False
