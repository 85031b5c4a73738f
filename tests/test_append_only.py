"""loyalty_ledger and audit_log are append-only on both backends (DESIGN §3, seed 003 NFR-3).

Triggers refuse UPDATE and DELETE (and TRUNCATE on Postgres) whoever connects, the owner
included; on Postgres the application role has no such privileges in the first place.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, Row, Uuid, bindparam, select, text
from sqlalchemy.exc import DatabaseError, ProgrammingError

import db
from pitterm.domain.database import Database
from pitterm.domain.enums import LedgerReason
from pitterm.domain.tables import AuditLog, LoyaltyLedger, Player
from tests.factories import CasinoWorld, build_casino

APPEND_ONLY = ("loyalty_ledger", "audit_log")


@dataclass
class Rows:
    """One known row in each append-only table."""

    world: CasinoWorld
    ids: dict[str, uuid.UUID]


def add_player_and_entry(database: Database, world: CasinoWorld, points: int = 500) -> uuid.UUID:
    """A player and one manual-credit ledger entry, written through a scoped unit of work."""
    admin = world.admin
    with database.uow(admin) as uow:
        player = Player(
            id=uuid.uuid4(),
            casino_id=admin.casino_id,
            first_name="Lena",
            last_name="Horne",
            created_at=uow.now(),
        )
        uow.session.add(player)
        uow.session.flush()
        entry = LoyaltyLedger(
            id=uuid.uuid4(),
            casino_id=admin.casino_id,
            player_id=player.id,
            staff_id=admin.staff_id,
            points_delta=points,
            reason=LedgerReason.MANUAL_REWARD,
            idempotency_key=uuid.uuid4(),
            note="service recovery",
            metadata_={"awarded_by_staff_id": str(admin.staff_id)},
            created_at=uow.now(),
        )
        uow.session.add(entry)
        uow.commit()
        return entry.id


@pytest.fixture
def rows(backend: Database) -> Rows:
    world = build_casino(backend)
    entry_id = add_player_and_entry(backend, world)
    with backend.reader(world.admin) as uow:
        audit_id = uow.session.scalars(select(AuditLog.id).order_by(AuditLog.created_at)).first()
    assert audit_id is not None, "building a casino writes audit rows"
    return Rows(world, {"loyalty_ledger": entry_id, "audit_log": audit_id})


def by_id(sql: str, row_id: uuid.UUID, **params: Any) -> Any:
    return text(sql).bindparams(bindparam("id", row_id, type_=Uuid()), **params)


def snapshot(database: Database, table: str, row_id: uuid.UUID) -> Row[Any]:
    with database.raw() as conn:
        return conn.execute(by_id(f"SELECT * FROM {table} WHERE id = :id", row_id)).one()


def count(database: Database, table: str) -> int:
    with database.raw() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


@pytest.fixture
def unchanged(rows: Rows, backend: Database) -> Iterator[None]:
    """Whatever the test attempts, every row of both tables is the same afterwards."""
    before = {t: (snapshot(backend, t, rows.ids[t]), count(backend, t)) for t in APPEND_ONLY}
    yield
    after = {t: (snapshot(backend, t, rows.ids[t]), count(backend, t)) for t in APPEND_ONLY}
    assert after == before


def refused(database: Database, statement: Any) -> DatabaseError:
    with database.raw() as conn, pytest.raises(DatabaseError) as raised:
        conn.execute(statement)
        conn.commit()
    assert "append-only" in str(raised.value), raised.value
    return raised.value


UPDATES = {
    "loyalty_ledger": "UPDATE loyalty_ledger SET points_delta = 999999 WHERE id = :id",
    "audit_log": "UPDATE audit_log SET action = 'tampered' WHERE id = :id",
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_raw_update_is_refused(backend: Database, rows: Rows, table: str) -> None:
    refused(backend, by_id(UPDATES[table], rows.ids[table]))


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_raw_update_of_every_row_is_refused(backend: Database, rows: Rows, table: str) -> None:
    refused(backend, text(f"UPDATE {table} SET created_at = created_at"))


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_raw_delete_is_refused(backend: Database, rows: Rows, table: str) -> None:
    refused(backend, by_id(f"DELETE FROM {table} WHERE id = :id", rows.ids[table]))


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_raw_delete_of_every_row_is_refused(backend: Database, rows: Rows, table: str) -> None:
    refused(backend, text(f"DELETE FROM {table}"))


@pytest.mark.usefixtures("unchanged")
def test_orm_update_through_a_unit_of_work_is_refused(backend: Database, rows: Rows) -> None:
    with backend.uow(rows.world.admin) as uow, pytest.raises(DatabaseError) as raised:
        entry = uow.session.get(LoyaltyLedger, rows.ids["loyalty_ledger"])
        assert entry is not None
        entry.points_delta = -entry.points_delta
        uow.commit()
    assert "append-only" in str(raised.value)


@pytest.mark.usefixtures("unchanged")
def test_orm_delete_through_a_unit_of_work_is_refused(backend: Database, rows: Rows) -> None:
    with backend.uow(rows.world.admin) as uow, pytest.raises(DatabaseError) as raised:
        row = uow.session.get(AuditLog, rows.ids["audit_log"])
        assert row is not None
        uow.session.delete(row)
        uow.commit()
    assert "append-only" in str(raised.value)


def test_insert_still_works(backend: Database, rows: Rows) -> None:
    ledger, audit = count(backend, "loyalty_ledger"), count(backend, "audit_log")
    entry_id = add_player_and_entry(backend, rows.world, points=75)
    with backend.uow(rows.world.admin) as uow:
        uow.session.add(
            AuditLog(
                id=uuid.uuid4(),
                casino_id=rows.world.casino.id,
                staff_id=rows.world.admin.staff_id,
                action="test.appended",
                entity_type="loyalty_ledger",
                entity_id=str(entry_id),
                correlation_id=uow.correlation_id,
                created_at=uow.now(),
            )
        )
        uow.commit()
    assert count(backend, "loyalty_ledger") == ledger + 1
    assert count(backend, "audit_log") == audit + 1
    assert snapshot(backend, "loyalty_ledger", entry_id).points_delta == 75


# --- Postgres only -----------------------------------------------------------------------------


@pytest.fixture
def pg_rows(pg_database: Database) -> Rows:
    world = build_casino(pg_database)
    entry_id = add_player_and_entry(pg_database, world)
    with pg_database.raw() as conn:
        audit_id = conn.scalar(text("SELECT id FROM audit_log LIMIT 1"))
    return Rows(world, {"loyalty_ledger": entry_id, "audit_log": audit_id})


@pytest.mark.postgres
@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("cascade", ["", " CASCADE"])
def test_truncate_is_refused_on_postgres(
    pg_database: Database, pg_rows: Rows, table: str, cascade: str
) -> None:
    before = count(pg_database, table)
    refused(pg_database, text(f"TRUNCATE {table}{cascade}"))
    assert count(pg_database, table) == before > 0


def table_privileges(
    conn: Connection, role: str, table: str, privileges: tuple[str, ...]
) -> dict[str, bool]:
    query = text("SELECT has_table_privilege(CAST(:role AS name), CAST(:t AS text), :p)")
    return {p: conn.scalar(query, {"role": role, "t": table, "p": p}) for p in privileges}


@pytest.mark.postgres
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_app_role_has_no_update_delete_or_truncate_privilege(
    pg_database: Database, app_database: Database, table: str
) -> None:
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
    with pg_database.raw() as conn:
        granted = table_privileges(conn, db.APP_ROLE, table, privileges)
    with app_database.raw() as conn:
        login = conn.scalar(text("SELECT current_user"))
        as_login = table_privileges(conn, login, table, privileges)
    expected = {p: p in {"SELECT", "INSERT"} for p in privileges}
    assert granted == expected
    assert as_login == expected  # the terminal's login inherits exactly the app role's rights


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET created_at = created_at",
        "DELETE FROM {table}",
        "TRUNCATE {table}",
        "ALTER TABLE {table} DISABLE TRIGGER USER",
        "DROP TRIGGER {table}_refuse_change ON {table}",
    ],
)
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_app_role_attempts_fail(
    pg_database: Database, app_database: Database, pg_rows: Rows, table: str, statement: str
) -> None:
    before = count(pg_database, table)
    with app_database.uow(pg_rows.world.admin) as uow, pytest.raises(ProgrammingError) as raised:
        uow.session.execute(text(statement.format(table=table)))
        uow.commit()
    message = str(raised.value)
    assert "permission denied" in message or "must be owner" in message, message
    assert count(pg_database, table) == before > 0
    with pg_database.raw() as conn:
        triggers = conn.scalar(
            text(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass)"
                " AND NOT tgisinternal AND tgenabled = 'O' AND tgname LIKE :refuse"
            ),
            {"t": table, "refuse": f"{table}_refuse_%"},
        )
    assert triggers == 2  # refuse_change and refuse_truncate, still there and enabled


@pytest.mark.postgres
def test_app_role_can_append(app_database: Database, pg_database: Database, pg_rows: Rows) -> None:
    before = count(pg_database, "loyalty_ledger")
    add_player_and_entry(app_database, pg_rows.world, points=10)
    assert count(pg_database, "loyalty_ledger") == before + 1
