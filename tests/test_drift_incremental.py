"""Incremental re-audit = full audit, on any history; and it reads only what changed.

The re-audit takes in the changes that triggers record for every ledger entry and every
cached-balance change. Histories here mix credits, cache drift, entries stamped in the past
(which a time horizon would miss), accounts appearing and disappearing, re-audits and
checkpoint rebuilds; after every step the re-audit must equal a full audit.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update

from pitterm.domain import drift, loyalty
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import LedgerReason
from pitterm.domain.tables import DriftChange, LoyaltyLedger, PlayerLoyalty
from tests.conftest import PostgresCluster, fresh_pg_database, fresh_sqlite_database
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol, key

steps = st.lists(
    st.one_of(
        st.tuples(st.just("credit"), st.integers(0, 5), st.integers(1, 500)),
        st.tuples(st.just("drift"), st.integers(0, 5), st.integers(-300, 300)),
        st.tuples(st.just("late"), st.integers(0, 5), st.integers(-300, 300)),
        st.tuples(st.just("enrol"), st.just(0), st.just(0)),
        st.tuples(st.just("drop"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("audit"), st.just(0), st.just(0)),
        st.tuples(st.just("rebuild"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=steps, tolerance=st.integers(0, 20))
def test_incremental_equals_full(sqlite_template, tmp_path_factory, history, tolerance) -> None:
    with fresh_sqlite_database(sqlite_template, tmp_path_factory.mktemp("inc")) as database:
        run(database, database, history, tolerance)


@pytest.mark.postgres
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=steps, tolerance=st.integers(0, 20))
def test_incremental_equals_full_on_postgres_as_the_app_role(
    pg_cluster: PostgresCluster, pg_template: str, history, tolerance
) -> None:
    with fresh_pg_database(pg_cluster, pg_template) as owner:
        app = owner.as_app_role()
        try:
            run(owner, app, history, tolerance)
        finally:
            app.dispose()


def run(
    owner: Database, database: Database, history: list[tuple[str, int, int]], tolerance: int
) -> None:
    """Replay ``history`` through ``database``; ``owner`` does what staff cannot (delete an
    account row)."""
    world = build_casino(owner)
    admin = world.admin
    players: list[uuid.UUID] = [enrol(database, admin, f"P{i}", "Prop") for i in range(3)]
    assert isinstance(database.clock, FixedClock)
    for action, who, amount in history:
        database.clock.advance(timedelta(minutes=1))
        player = players[who % len(players)]
        if action == "credit":
            loyalty.manual_credit(
                database.uow(admin),
                admin,
                loyalty.ManualCredit(
                    player_id=player, points=amount, note="p", idempotency_key=key()
                ),
            )
        elif action == "drift":
            shift_cached(database, world, player, amount)
        elif action == "late":
            backdated_entry(database, world, player, amount, timedelta(days=3))
        elif action == "enrol":
            players.append(enrol(database, admin, f"P{len(players)}", "Prop"))
        elif action == "drop":
            with owner.uow(world.scope) as uow:
                uow.session.execute(delete(PlayerLoyalty).where(PlayerLoyalty.player_id == player))
                uow.commit()
        elif action == "audit":
            drift.audit_incremental(database.uow(admin), admin, tolerance)
        else:
            drift.audit(database.uow(admin), admin, tolerance, checkpoint=True)
        incremental = drift.audit_incremental(database.uow(admin), admin, tolerance)
        full = drift.audit(database.reader(admin), admin, tolerance)
        assert incremental.summary == full.summary
        assert incremental.accounts == full.accounts


def shift_cached(database: Database, world: CasinoWorld, player: uuid.UUID, amount: int) -> None:
    with database.uow(world.scope) as uow:
        uow.session.execute(
            update(PlayerLoyalty)
            .where(PlayerLoyalty.player_id == player)
            .values(current_balance=PlayerLoyalty.current_balance + amount)
        )
        uow.commit()


def backdated_entry(
    database: Database, world: CasinoWorld, player: uuid.UUID, points: int, age: timedelta
) -> None:
    """A ledger entry stamped ``age`` ago that never reached the cached balance."""
    with database.uow(world.admin) as uow:
        uow.session.add(
            LoyaltyLedger(
                id=uuid.uuid4(),
                casino_id=world.casino.id,
                player_id=player,
                staff_id=world.admin.staff_id,
                points_delta=points,
                reason=LedgerReason.ADJUSTMENT,
                note="late",
                created_at=uow.now() - age,
            )
        )
        uow.commit()


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def test_an_entry_stamped_before_the_checkpoint_is_still_taken_in(
    backend: Database, world: CasinoWorld
) -> None:
    admin = world.admin
    player = enrol(backend, admin, "Late", "Entry")
    first = drift.audit_incremental(backend.uow(admin), admin, 0)
    assert first.kind is drift.AuditKind.FULL
    backdated_entry(backend, world, player, 40, timedelta(days=30))
    again = drift.audit_incremental(backend.uow(admin), admin, 0)
    assert (again.kind, again.scanned_entries) == (drift.AuditKind.INCREMENTAL, 1)
    [account] = again.accounts
    assert (account.player_id, account.computed, account.drift, account.entries) == (
        player,
        40,
        -40,
        1,
    )
    assert again.summary == drift.audit(backend.reader(admin), admin, 0).summary


def test_changes_are_consumed_and_counted_once(backend: Database, world: CasinoWorld) -> None:
    admin = world.admin
    players = [enrol(backend, admin, f"C{i}", "Count") for i in range(3)]
    drift.audit_incremental(backend.uow(admin), admin, 0)
    assert pending(backend, world) == 0
    for player in players:
        loyalty.manual_credit(
            backend.uow(admin),
            admin,
            loyalty.ManualCredit(player_id=player, points=10, note="c", idempotency_key=key()),
        )
    # One change per entry and one per cached-balance update.
    assert pending(backend, world) == 6
    report = drift.audit_incremental(backend.uow(admin), admin, 0)
    assert (report.scanned_entries, report.summary.accounts_checked) == (3, 3)
    assert pending(backend, world) == 0
    newcomer = enrol(backend, admin, "New", "Comer")
    with backend.uow(world.scope) as uow:
        uow.session.execute(delete(PlayerLoyalty).where(PlayerLoyalty.player_id == players[0]))
        uow.commit()
    report = drift.audit_incremental(backend.uow(admin), admin, 0)
    full = drift.audit(backend.reader(admin), admin, 0)
    assert report.summary.accounts_checked == full.summary.accounts_checked == 3
    assert report.scanned_entries == 0
    assert newcomer not in {a.player_id for a in report.accounts}


def pending(database: Database, world: CasinoWorld) -> int:
    with database.reader(world.scope) as uow:
        return (
            uow.session.scalar(
                select(func.count())
                .select_from(DriftChange)
                .where(DriftChange.casino_id == world.casino.id)
            )
            or 0
        )


@pytest.mark.postgres
def test_a_writer_committing_during_the_reaudit_is_taken_in_by_the_next(
    pg_database: Database,
) -> None:
    """A ledger entry whose transaction is still open when the re-audit runs is neither read
    nor lost: its change is invisible to the re-audit, stays, and the next run takes it in."""
    world = build_casino(pg_database)
    admin = world.admin
    player = enrol(pg_database, admin, "Slow", "Writer")
    drift.audit_incremental(pg_database.uow(admin), admin, 0)
    with pg_database.uow(admin) as writer:
        writer.session.add(
            LoyaltyLedger(
                id=uuid.uuid4(),
                casino_id=world.casino.id,
                player_id=player,
                staff_id=admin.staff_id,
                points_delta=25,
                reason=LedgerReason.ADJUSTMENT,
                note="slow",
                created_at=writer.now() - timedelta(hours=1),
            )
        )
        writer.session.execute(
            update(PlayerLoyalty)
            .where(PlayerLoyalty.player_id == player)
            .values(current_balance=PlayerLoyalty.current_balance + 25)
        )
        writer.session.flush()
        # The re-audit runs (in another thread, as another terminal would) while the
        # writer's transaction is open; it must not wait for it.
        result: list[drift.AuditReport] = []
        auditor = threading.Thread(
            target=lambda: result.append(drift.audit_incremental(pg_database.uow(admin), admin, 0))
        )
        auditor.start()
        auditor.join(timeout=30)
        assert not auditor.is_alive(), "the re-audit waited for an open writer"
        assert result[0].scanned_entries == 0
        assert result[0].summary.in_balance == 1
        writer.commit()
    after = drift.audit_incremental(pg_database.uow(admin), admin, 0)
    assert after.scanned_entries == 1
    assert after.summary == drift.audit(pg_database.reader(admin), admin, 0).summary
    assert after.summary.in_balance == 1
    with pg_database.reader(world.scope) as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM drift_change")) == 0
