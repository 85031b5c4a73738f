"""16 terminals issue coupons at once, on Postgres as the application role.

Every terminal's first generated number is the same one, so fifteen of them collide (in
flight, or with a committed row of another casino they cannot even see) and must draw again.
Afterwards every coupon has its own number, unique across both casinos, and each program's
max-uses limit held.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import text

from pitterm.domain import promo, promo_numbers
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError
from tests.conftest import PostgresTestDatabase
from tests.factories import build_casino
from tests.promo_support import key, new_program

pytestmark = pytest.mark.postgres
TERMINALS = 16


def test_parallel_issuance_keeps_numbers_unique_across_casinos(
    pg_database: PostgresTestDatabase, app_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    worlds = [build_casino(pg_database, "ALPHA"), build_casino(pg_database, "BRAVO")]
    owners = [worlds[0], worlds[0], worlds[1], worlds[1]]
    programs = [
        new_program(pg_database, world.admin, name=f"Match {n}", max_uses=3 if n == 0 else None)
        for n, world in enumerate(owners)
    ]
    hot = promo_numbers.compose("MP", "HQTHQTXX")
    local = threading.local()

    def draw(prefix: str, rng: random.Random | None = None) -> promo_numbers.ValidationNumber:
        # Each terminal's first draw is the hot number; after that, fresh random ones.
        if not getattr(local, "drawn", False):
            local.drawn = True
            return hot
        return original(prefix, rng)

    original = promo_numbers.generate
    monkeypatch.setattr(promo_numbers, "generate", draw)
    barrier = threading.Barrier(TERMINALS)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def terminal(index: int) -> None:
        program_index = index % len(programs)
        world = owners[program_index]
        actor = world.actor(StaffRole.FLOOR_SUPERVISOR)
        barrier.wait()
        try:
            coupon = promo.issue_coupon(
                app_database.uow(actor),
                actor,
                promo.IssueCoupon(
                    program_id=programs[program_index].id,
                    face_value_cents=2500,
                    required_match_wager_cents=2500,
                    idempotency_key=key(),
                ),
            ).coupon
            outcome = coupon.validation_number
        except DomainError as error:
            outcome = error.code.value
        with lock:
            outcomes.append((program_index, outcome))

    threads = [threading.Thread(target=terminal, args=(i,)) for i in range(TERMINALS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == TERMINALS

    issued = [number for _, number in outcomes if promo_numbers.is_valid(number)]
    refused = Counter((p, o) for p, o in outcomes if not promo_numbers.is_valid(o))
    # Program 0 (ALPHA) allows 3 coupons; its fourth terminal is refused, nothing else is.
    assert refused == Counter({(0, "PROMO_PROGRAM_USES_EXHAUSTED"): 1})
    assert len(issued) == TERMINALS - 1 == len(set(issued))
    assert hot.text in issued
    with pg_database.raw() as conn:
        stored = list(conn.scalars(text("SELECT validation_number FROM promo_coupon")))
        per_program = dict(
            conn.execute(text("SELECT program_id, count(*) FROM promo_coupon GROUP BY 1")).all()
        )
    assert sorted(stored) == sorted(issued)
    assert per_program[programs[0].id] == 3
