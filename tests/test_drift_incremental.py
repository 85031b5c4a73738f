"""Property: on any history of entries, drifts and audits, incremental re-audit = full audit."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from pitterm.domain import drift, loyalty
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.tables import PlayerLoyalty
from tests.conftest import fresh_sqlite_database
from tests.factories import build_casino
from tests.floor_support import enrol, key

steps = st.lists(
    st.one_of(
        st.tuples(st.just("credit"), st.integers(0, 3), st.integers(1, 500)),
        st.tuples(st.just("drift"), st.integers(0, 3), st.integers(-300, 300)),
        st.tuples(st.just("wait"), st.integers(1, 20), st.just(0)),
        st.tuples(st.just("audit"), st.just(0), st.just(0)),
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
        run(database, history, tolerance)


def run(database: Database, history: list[tuple[str, int, int]], tolerance: int) -> None:
    world = build_casino(database)
    admin = world.admin
    players: list[uuid.UUID] = [enrol(database, admin, f"P{i}", "Prop") for i in range(4)]
    assert isinstance(database.clock, FixedClock)
    for action, who, amount in history:
        database.clock.advance(timedelta(minutes=1))
        if action == "credit":
            loyalty.manual_credit(
                database.uow(admin),
                admin,
                loyalty.ManualCredit(
                    player_id=players[who], points=amount, note="p", idempotency_key=key()
                ),
            )
        elif action == "drift":
            with database.uow(world.scope) as uow:
                uow.session.execute(
                    update(PlayerLoyalty)
                    .where(PlayerLoyalty.player_id == players[who])
                    .values(current_balance=PlayerLoyalty.current_balance + amount)
                )
                uow.commit()
        elif action == "wait":
            database.clock.advance(timedelta(minutes=amount))
        else:
            drift.audit_incremental(database.uow(admin), admin, tolerance)
        incremental = drift.audit_incremental(database.uow(admin), admin, tolerance)
        full = drift.audit(database.reader(admin), admin, tolerance)
        assert incremental.summary == full.summary
        assert incremental.accounts == full.accounts
