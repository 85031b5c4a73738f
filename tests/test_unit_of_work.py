"""The unit of work's round-trip savings keep its guarantees (issue 9).

No pool pre-ping (a dead pooled connection is retried on the first statement), BEGIN and the
scope settings in one query, write-once rows queued and sent with the COMMIT (on Postgres in
one pipeline), Core statements beside the ORM session. Each test shows a guarantee those
shortcuts could have broken still holds.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select, text

from pitterm.domain import audit, loyalty
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.tables import AuditLog, IdempotencyRecord, Player
from tests.conftest import PostgresTestDatabase
from tests.factories import build_casino
from tests.floor_support import enrol, key


class Ping(BaseModel):
    note: str


class Pinged(Outcome):
    seen: int


def _count(database: Database, actor: Actor, entity: type[AuditLog | IdempotencyRecord]) -> int:
    with database.reader(actor) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(entity)) or 0)


@pytest.mark.postgres
def test_same_key_at_once_one_commits_and_the_other_replays(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    """Both pass the key lookup before either commits; the loser's pipelined INSERT of the
    outcome meets the winner's key, everything it did rolls back, and it replays."""
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    shared = key()
    both_in_body = threading.Barrier(2, timeout=30)
    results: list[Pinged] = []
    errors: list[BaseException] = []
    before = _count(pg_database, world.admin, AuditLog)

    def attempt(n: int) -> None:
        uow = app_database.uow(boss)

        def body() -> Pinged:
            both_in_body.wait()
            audit.by(uow, boss, "test.ping", "test", n)
            return Pinged(seen=n)

        try:
            results.append(
                run_idempotent(
                    uow,
                    boss,
                    operation="test.ping",
                    key=shared,
                    request=Ping(note="x"),
                    result_type=Pinged,
                    body=body,
                )
            )
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(r.is_existing for r in results) == [False, True]
    assert len({r.seen for r in results}) == 1  # the replay is the winner's outcome
    assert _count(pg_database, world.admin, AuditLog) == before + 1
    assert _count(pg_database, world.admin, IdempotencyRecord) == 1
    # The loser's connection went back to the pool usable, not in an aborted transaction.
    for _ in range(3):
        with app_database.reader(boss) as uow:
            assert uow.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.postgres
def test_a_dead_pooled_connection_is_retried_on_the_first_statement(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    with app_database.reader(boss) as uow:
        pid = uow.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with pg_database.raw() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.commit()
    # The pooled connection is dead; the first statement fails, is retried on a new one.
    assert loyalty.balance(app_database.reader(boss), boss, player).balance == 0
    with app_database.reader(boss) as uow:
        assert uow.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_statements_after_a_commit_run_in_a_new_scoped_transaction(
    backend: Database,
) -> None:
    """A unit of work that goes on after commit() is still scoped, and what it writes then
    is rolled back unless committed again."""
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    enrol(backend, boss, "Kept")
    with backend.uow(boss) as uow:
        uow.commit()
        # Postgres: the app role would see nothing without the scope settings.
        seen = uow.session.scalars(select(Player.first_name)).all()
        audit.by(uow, boss, "test.after_commit", "test", None)
        uow.session.add(
            Player(
                id=uuid.uuid4(),
                casino_id=boss.casino_id,
                first_name="Dropped",
                last_name="Never",
                created_at=uow.now(),
            )
        )
        uow.session.flush()
    assert seen == ["Kept"]
    with backend.reader(boss) as uow:
        names = uow.session.scalars(select(Player.first_name)).all()
        audited = uow.session.scalar(
            select(func.count()).where(AuditLog.action == "test.after_commit")
        )
    assert names == ["Kept"] and audited == 0


@pytest.mark.postgres
def test_app_role_unit_of_work_after_commit_is_scoped(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    with app_database.uow(boss) as uow:
        uow.commit()
        again = uow.execute(
            select(Player.id).where(Player.id == player, Player.casino_id == boss.casino_id)
        ).scalar()
    assert again == player


def test_a_queued_row_of_another_casino_is_refused(backend: Database) -> None:
    a, b = build_casino(backend, "ALPHA"), build_casino(backend, "BRAVO")
    with backend.uow(a.admin) as uow, pytest.raises(DomainError) as refused:
        audit.record(
            uow,
            casino_id=b.casino.id,
            staff_id=None,
            action="test.cross",
            entity_type="test",
            entity_id=None,
        )
    assert refused.value.code is ErrorCode.CASINO_MISMATCH


def test_queued_rows_are_dropped_without_a_commit(backend: Database) -> None:
    world = build_casino(backend)
    before = _count(backend, world.admin, AuditLog)
    uow = backend.uow(world.admin)
    with pytest.raises(RuntimeError), uow:
        audit.by(uow, world.admin, "test.dropped", "test", None)
        raise RuntimeError("boom")
    with uow:
        uow.commit()  # the same unit of work again: nothing stale is sent
    assert _count(backend, world.admin, AuditLog) == before
