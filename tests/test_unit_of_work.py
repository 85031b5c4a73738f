"""The unit of work's round-trip savings keep its guarantees (issue 9).

No pool pre-ping (a dead pooled connection is retried on the first statement), BEGIN and the
scope settings in one query, write-once rows queued and sent as one statement before the
COMMIT, Core statements beside the ORM session, and ``Direct`` statements that Postgres
units of work hand to the driver themselves. Each test shows a guarantee those shortcuts
could have broken still holds.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import bindparam, delete, exc, func, insert, select, text

from pitterm.domain import audit, idempotency, ledger, loyalty, slips
from pitterm.domain.actor import Actor
from pitterm.domain.clock import OffsetClock
from pitterm.domain.database import Database, Direct, Rows, table_of
from pitterm.domain.enums import LedgerReason, SlipStatus, StaffRole, Tier, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.tables import (
    AuditLog,
    IdempotencyRecord,
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
    Staff,
)
from tests.conftest import PostgresTestDatabase
from tests.factories import build_casino
from tests.floor_support import enrol, key, open_visit, start


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
    """Both pass the key lookup before either commits; the loser's INSERT of the outcome
    meets the winner's key, everything it did rolls back, and it replays."""
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


def _both_ways(database: Database, actor: Actor, statement: Direct, params: dict[str, Any]) -> Any:
    """The rows of ``statement`` as ``Direct`` gives them and as SQLAlchemy's own execution
    does, in one transaction (a writing one, for the locking reads; never committed)."""
    with database.uow(actor) as uow:
        direct = uow.execute(statement, params)
        core = uow.connection.execute(statement.statement, params)
        assert isinstance(direct, Rows)
        return direct.all(), [tuple(row) for row in core.all()], list(core.keys())


def test_direct_rows_are_what_sqlalchemy_returns(backend: Database) -> None:
    """Same names, values and types — enums, aware UTC datetimes, dates, JSON, UUIDs, NULLs
    of an outer join — through each type's result processing."""
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    backend.clock = OffsetClock()
    player = enrol(backend, boss)
    visit = open_visit(backend, boss, VisitKind.GAMING_IDENTIFIED_RATED, player)
    slip = start(backend, boss, visit, world.table_ids[0])
    slips.pause_slip(
        backend.uow(boss), boss, slips.SlipCommand(slip_id=slip, idempotency_key=key())
    )
    backend.clock.advance(timedelta(minutes=5))
    with backend.uow(world.admin) as uow:
        uow.session.get_one(PlayerLoyalty, (player, boss.casino_id)).tier = Tier.GOLD
        uow.commit()
    checks: list[tuple[Direct, dict[str, Any]]] = [
        (slips._LOCK_ONE, {"casino": boss.casino_id, "slip": slip}),
        (slips._PAUSES, {"casino": boss.casino_id, "slip": slip}),
        (loyalty._BALANCE, {"player": player, "casino": boss.casino_id}),
        (ledger._LOCK, {"account_player": player, "account_casino": boss.casino_id}),
    ]
    with backend.reader(boss) as uow:
        stored = uow.session.scalar(select(IdempotencyRecord.idempotency_key).limit(1))
    checks.append((idempotency._FIND, {"casino_id": boss.casino_id, "key": stored}))
    for statement, params in checks:
        direct, core, keys = _both_ways(backend, boss, statement, params)
        assert direct == core and direct, statement.statement
        assert [list(row._fields) for row in direct] == [keys] * len(direct)
        for got, want in zip(direct, core, strict=True):
            assert [type(v) for v in got] == [type(v) for v in want], statement.statement
    (locked,) = _both_ways(backend, boss, slips._LOCK_ONE, checks[0][1])[0]
    assert locked.status is SlipStatus.PAUSED and locked.accrual_id is None
    assert locked.started_at.tzinfo is UTC
    (balance,) = _both_ways(backend, boss, loyalty._BALANCE, checks[2][1])[0]
    assert balance.tier is Tier.GOLD


@pytest.mark.postgres
def test_direct_statements_after_a_commit_run_in_a_new_scoped_transaction(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    with app_database.uow(boss) as uow:
        uow.commit()
        # The app role sees nothing unless the new transaction carries the scope.
        assert uow.execute(loyalty._BALANCE, {"player": player, "casino": boss.casino_id}).one()
        ledger.post(
            uow,
            casino_id=boss.casino_id,
            player_id=player,
            points_delta=5,
            reason=LedgerReason.MANUAL_REWARD,
            staff_id=boss.staff_id,
            idempotency_key=None,
            metadata={},
        )
        # ... and it is a transaction: not committed, so rolled back when the block ends.
    assert loyalty.balance(app_database.reader(boss), boss, player).balance == 0


def test_direct_errors_are_sqlalchemys(backend: Database) -> None:
    """A unique violation is an IntegrityError (what run_idempotent retries on), and the
    unit of work's connection goes back to the pool usable."""
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(backend, boss)
    entry = {f"e_{column.name}": None for column in table_of(LoyaltyLedger).columns} | {
        "e_id": uuid.uuid4(),
        "e_casino_id": boss.casino_id,
        "e_player_id": player,
        "e_points_delta": 1,
        "e_reason": LedgerReason.MANUAL_REWARD,
        "e_metadata": {},
        "e_created_at": datetime.now(UTC),
    }
    with backend.uow(boss) as uow:
        uow.execute(ledger._APPEND, entry)
        with pytest.raises(exc.IntegrityError):
            uow.execute(ledger._APPEND, entry)
    for _ in range(3):
        assert loyalty.balance(backend.reader(boss), boss, player).balance == 0


@pytest.mark.postgres
def test_committing_a_failed_transaction_is_refused_not_silently_rolled_back(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    with app_database.uow(boss) as uow:
        ledger.post(
            uow,
            casino_id=boss.casino_id,
            player_id=player,
            points_delta=5,
            reason=LedgerReason.MANUAL_REWARD,
            staff_id=boss.staff_id,
            idempotency_key=None,
            metadata={},
        )
        with pytest.raises(exc.DBAPIError):
            uow.execute(loyalty._PLAYER, {"player": "not a uuid", "casino": boss.casino_id})
        with pytest.raises(exc.InvalidRequestError):
            uow.commit()
    assert loyalty.balance(app_database.reader(boss), boss, player).balance == 0


@pytest.mark.postgres
def test_a_connection_killed_mid_unit_of_work_is_database_unavailable(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    params = {"player": player, "casino": boss.casino_id}
    with pytest.raises(DomainError) as refused, app_database.reader(boss) as uow:
        pid = uow.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pg_database.raw() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.commit()
        uow.execute(loyalty._BALANCE, params)
    assert refused.value.code is ErrorCode.DATABASE_UNAVAILABLE
    # The dead connection was invalidated, not pooled: the next unit of work works.
    with app_database.reader(boss) as uow:
        assert uow.execute(loyalty._BALANCE, params).one().id == player


@pytest.mark.postgres
def test_direct_refuses_what_it_cannot_run_faithfully(pg_database: PostgresTestDatabase) -> None:
    world = build_casino(pg_database)
    players = table_of(Player)
    expanding = Direct(select(players.c.id).where(players.c.id.in_([uuid.uuid4()])))
    defaulted = Direct(insert(players).values(first_name=bindparam("name")))  # id by default
    with pg_database.reader(world.admin) as uow:
        for statement in (expanding, defaulted):
            with pytest.raises(TypeError):
                uow.execute(statement, {"name": "x"})


def test_a_comp_replays_from_its_first_statement_or_from_the_key_alone(backend: Database) -> None:
    """The comp's first statement reads the locked account and the stored outcome together;
    when it finds no account row the key is looked up on its own — a repeat replays either
    way, and runs nothing (no account is created for the replay)."""
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(backend, boss)
    loyalty.manual_credit(
        backend.uow(world.admin),
        world.admin,
        loyalty.ManualCredit(player_id=player, points=100, note="float", idempotency_key=key()),
    )
    request = loyalty.Redeem(player_id=player, points=30, note="dinner", idempotency_key=key())
    first = loyalty.redeem(backend.uow(boss), boss, request)
    assert not first.is_existing and first.balance_after == 70
    again = loyalty.redeem(backend.uow(boss), boss, request)  # found beside the account row
    assert again.is_existing and again.ledger_id == first.ledger_id

    with backend.raw() as conn:
        conn.execute(delete(PlayerLoyalty).where(PlayerLoyalty.player_id == player))
        conn.commit()
    third = loyalty.redeem(backend.uow(boss), boss, request)  # no account row: by key alone
    assert third.is_existing and third.ledger_id == first.ledger_id
    with backend.reader(boss) as uow:
        assert uow.session.get(PlayerLoyalty, (player, boss.casino_id)) is None
    other = request.model_copy(update={"points": 31})
    with pytest.raises(DomainError) as refused:
        loyalty.redeem(backend.uow(boss), boss, other)
    assert refused.value.code is ErrorCode.IDEMPOTENCY_CONFLICT


@pytest.mark.postgres
def test_a_deadlock_is_a_conflict_not_an_outage(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    """Two terminals locking the same two rows in opposite orders: Postgres rolls one back
    (40P01). That one is told another terminal was writing the same records — not that the
    database is down — and the other commits."""
    world = build_casino(pg_database)
    boss, admin = world.actor(StaffRole.PIT_BOSS), world.admin
    first_locked, second_locked = threading.Event(), threading.Event()
    outcomes: dict[str, BaseException | None] = {}

    def lock(
        name: str,
        actor: Actor,
        own: uuid.UUID,
        other: uuid.UUID,
        mine: threading.Event,
        theirs: threading.Event,
    ) -> None:
        try:
            with app_database.uow(actor) as uow:
                uow.session.execute(select(Staff.id).where(Staff.id == own).with_for_update())
                mine.set()
                theirs.wait(10)
                uow.session.execute(select(Staff.id).where(Staff.id == other).with_for_update())
                uow.commit()
            outcomes[name] = None
        except BaseException as error:
            outcomes[name] = error

    threads = [
        threading.Thread(
            target=lock,
            args=("boss", boss, boss.staff_id, admin.staff_id, first_locked, second_locked),
        ),
        threading.Thread(
            target=lock,
            args=("admin", admin, admin.staff_id, boss.staff_id, second_locked, first_locked),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    errors = [error for error in outcomes.values() if error is not None]
    assert len(outcomes) == 2 and len(errors) == 1, outcomes
    assert isinstance(errors[0], DomainError), errors[0]
    assert errors[0].code is ErrorCode.DATABASE_CONFLICT
    assert errors[0].details["sqlstate"] == "40P01"
