"""32 terminals on one player at once, on Postgres as the application role.

Redeems (with and without overdraw) and credits race, some sharing idempotency keys. After
the dust settles: the cached balance equals the ledger's sum, no redeem took the balance
below the overdraw cap, and each key that succeeded produced exactly one entry.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from pitterm.domain import loyalty
from pitterm.domain.database import Database
from pitterm.domain.enums import LedgerReason, StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import LoyaltyLedger
from tests.conftest import PostgresTestDatabase
from tests.factories import build_casino
from tests.floor_support import assert_balances_match_ledger, enrol

pytestmark = pytest.mark.postgres
TERMINALS = 32
CAP = 5000


def test_parallel_redeems_and_credits_keep_every_invariant(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    world = build_casino(pg_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(pg_database, boss)
    rng = random.Random(20261121)
    shared = [uuid.uuid4() for _ in range(4)]
    plans: list[tuple[str, int, uuid.UUID, bool]] = []
    for i in range(TERMINALS):
        kind = "credit" if i % 4 == 0 else "redeem"
        points = rng.randint(200, 1500)
        # Terminals 0..7 share four keys pairwise, with identical requests (a retry storm).
        key = shared[i // 2] if i < 8 else uuid.uuid4()
        plans.append((kind, points, key, rng.random() < 0.5))
    for i in range(0, 8, 2):  # make each pair identical so replays are legitimate
        plans[i + 1] = plans[i]

    barrier = threading.Barrier(TERMINALS)
    outcomes: list[str] = []
    wrote: set[uuid.UUID] = set()
    lock = threading.Lock()

    def terminal(kind: str, points: int, key: uuid.UUID, overdraw: bool) -> None:
        barrier.wait()
        try:
            if kind == "credit":
                result: loyalty.Credited | loyalty.Redeemed = loyalty.manual_credit(
                    app_database.uow(boss),
                    boss,
                    loyalty.ManualCredit(
                        player_id=player, points=points, note="race", idempotency_key=key
                    ),
                )
            else:
                result = loyalty.redeem(
                    app_database.uow(boss),
                    boss,
                    loyalty.Redeem(
                        player_id=player,
                        points=points,
                        note="race",
                        allow_overdraw=overdraw,
                        idempotency_key=key,
                    ),
                )
            outcome = "replayed" if result.is_existing else kind
        except DomainError as error:
            outcome = error.code.value
        with lock:
            outcomes.append(outcome)
            if outcome in {kind, "replayed"}:
                wrote.add(key)

    threads = [threading.Thread(target=terminal, args=plan) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    counts = Counter(outcomes)
    assert sum(counts.values()) == TERMINALS, counts
    assert set(counts) <= {
        "credit",
        "redeem",
        "replayed",
        ErrorCode.LOYALTY_INSUFFICIENT_BALANCE.value,
        ErrorCode.LOYALTY_OVERDRAW_EXCEEDS_CAP.value,
    }, counts
    assert_balances_match_ledger(pg_database, world.scope)
    with pg_database.reader(world.scope) as uow:
        per_key = Counter(uow.session.scalars(select(LoyaltyLedger.idempotency_key)).all())
        assert max(per_key.values()) == 1
        # A key wrote an entry exactly when some terminal using it succeeded; a refused
        # redeem leaves nothing behind, so its key may be retried (and succeed) later.
        assert set(per_key) == wrote
        # Each redeem recorded the balance it saw under the row lock and the one it left:
        # consistent with its own delta, and never below the cap.
        for delta, meta in uow.session.execute(
            select(LoyaltyLedger.points_delta, LoyaltyLedger.metadata_).where(
                LoyaltyLedger.reason == LedgerReason.REDEEM
            )
        ):
            assert meta["balance_before"] + delta == meta["balance_after"] >= -CAP
        # Every successful redeem (not the replays) wrote exactly one entry.
        befores = uow.session.scalars(
            select(LoyaltyLedger.metadata_["balance_before"].as_integer()).where(
                LoyaltyLedger.reason == LedgerReason.REDEEM
            )
        ).all()
        assert len(befores) == counts["redeem"]
    assert counts["replayed"] >= 1
