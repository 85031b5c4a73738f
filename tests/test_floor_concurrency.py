"""Concurrent closes of one slip on Postgres, from parallel connections as the app role.

Whatever the interleaving, a slip mints exactly one base accrual: same-key repeats replay
the first close, other keys are refused with SLIP_STATE_INVALID.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from pitterm.domain import slips
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import LedgerReason, StaffRole, VisitKind
from pitterm.domain.errors import DomainError
from tests.conftest import PostgresTestDatabase
from tests.factories import build_casino
from tests.floor_support import (
    assert_balances_match_ledger,
    enrol,
    ledger_entries,
    open_visit,
    start,
)

pytestmark = pytest.mark.postgres
CLOSERS = 12


def test_parallel_closes_mint_exactly_once(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    slip = start(
        pg_database,
        boss,
        open_visit(pg_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, player),
        world.table_ids[0],
    )
    assert isinstance(pg_database.clock, FixedClock)
    pg_database.clock.advance(timedelta(hours=2))
    shared_key = uuid.uuid4()
    keys = [shared_key if i % 2 else uuid.uuid4() for i in range(CLOSERS)]
    barrier = threading.Barrier(CLOSERS)
    outcomes: list[str] = []
    entries: set[uuid.UUID | None] = set()
    lock = threading.Lock()

    def close(key: uuid.UUID) -> None:
        command = slips.SlipCommand(slip_id=slip, idempotency_key=key)
        barrier.wait()
        try:
            result = slips.close_slip(app_database.uow(boss), boss, command)
            outcome = "replayed" if result.is_existing else "closed"
            with lock:
                entries.add(result.ledger_entry_id)
        except DomainError as error:
            outcome = error.code.value
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=close, args=(k,)) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    counts = Counter(outcomes)
    assert counts["closed"] == 1, counts
    assert sum(counts.values()) == CLOSERS
    assert set(counts) <= {"closed", "replayed", "SLIP_STATE_INVALID"}, counts
    [entry] = ledger_entries(pg_database, world.scope, LedgerReason.BASE_ACCRUAL)
    assert entry.points_delta == 2100 and entries == {entry.id}
    assert_balances_match_ledger(pg_database, world.scope)
