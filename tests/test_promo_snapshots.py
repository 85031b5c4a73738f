"""Snapshots of Promo mode: programs, inventory and the promo lens with an alert; a newly
issued coupon's big number; a replaced coupon's card.

Fixed terminal size, the frozen clock (12:00 in Las Vegas, the day shift), counted ids and
validation numbers drawn from a seeded random stream, no cursor blink. Update with
``pytest tests/test_promo_snapshots.py --snapshot-update`` and look at every changed SVG.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from pitterm.app import PitApp
from pitterm.domain import promo_numbers
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.promo_rules import PromoType
from tests.player_support import build_player_world, typed
from tests.promo_support import issue, new_program, replace, void
from tests.test_app_shell import make_app
from tests.test_app_snapshots import SnapCompare, as_role, before, keys

SIZE = (120, 40)
NUMBERS = random.Random("promo-snapshots")
PREPRINTED = promo_numbers.generate("MP", random.Random("preprinted")).text
"""The pre-printed number typed in the issue snapshot."""


def number(kind: PromoType) -> str:
    return promo_numbers.generate(kind.prefix, NUMBERS).text


@pytest.fixture
def replaced_number(sqlite_database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Four programs (one a draft), a quiet trailing week, a busy morning with a void and a
    replacement (the void/replace rate alert). Yields the replaced coupon's number."""
    counter = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    NUMBERS.seed("promo-snapshots")
    built = build_player_world(sqlite_database)
    boss = built.world.actor(StaffRole.PIT_BOSS)
    now = sqlite_database.clock.now()

    def at(delta: timedelta) -> Database:
        return Database(sqlite_database.engine, FixedClock(now + delta))

    match = new_program(
        sqlite_database,
        boss,
        PromoType.MATCH_PLAY,
        name="Weekend Match Play",
        start=timedelta(days=-10),
    )
    free = new_program(
        sqlite_database,
        boss,
        PromoType.FREE_BET,
        name="High Roller Free Bet",
        start=timedelta(days=-10),
    )
    new_program(sqlite_database, boss, PromoType.OTHER, name="Holiday Chips", activate=False)
    rita = built.players["Hayworth"]
    for day in range(7, 0, -1):
        issue(
            at(timedelta(days=-day, hours=-1)),
            boss,
            match.id,
            validation_number=number(PromoType.MATCH_PLAY),
        )
    coupons = []
    for hour, (source, face) in enumerate(
        [(match, 2_500), (free, 5_000), (match, 2_500), (match, 10_000), (free, 2_500)]
    ):
        kind = PromoType.MATCH_PLAY if source is match else PromoType.FREE_BET
        coupons.append(
            issue(
                at(timedelta(hours=-5 + hour)),
                boss,
                source.id,
                face=face,
                match=source is match,
                player_id=rita if hour % 2 == 0 else None,
                validation_number=number(kind),
            )
        )
    void(at(timedelta(minutes=-30)), boss, coupons[1].id, reason="Printed twice")
    replace(
        at(timedelta(minutes=-20)),
        boss,
        coupons[3].id,
        reason="Patron tore it",
        validation_number=number(PromoType.MATCH_PLAY),
    )
    monkeypatch.undo()
    yield coupons[3].validation_number


@pytest.fixture
def app(sqlite_database: Database, replaced_number: str) -> PitApp:
    return make_app(sqlite_database)


def type_number(text: str):  # type: ignore[no-untyped-def]
    async def step(pilot) -> None:  # type: ignore[no-untyped-def]
        await typed(pilot, promo_numbers.compact(text).lower())

    return step


class TestPromoMode:
    """Promo mode for a pit boss."""

    def test_programs_inventory_and_lens(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """Programs (two active, one draft), the promo lens of the day shift — by type,
        labelled 'not cash', issuance per hour, the void/replace rate alert — and the
        inventory newest first, with the voided and replaced coupons."""
        assert snap_compare(
            app, terminal_size=SIZE, run_before=before(as_role(StaffRole.PIT_BOSS), keys("f4"))
        )

    def test_issued_coupon_big_number(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """A $25 match play typed from pre-printed stock: once issued, its number fills a
        heavy box, spaced for reading aloud, above the coupon's facts."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(
                as_role(StaffRole.FLOOR_SUPERVISOR),
                keys("f4", "i"),
                keys("enter", "down", "down", "enter", "tab"),
                keys("2", "5", "enter", "enter", "enter"),
                type_number(PREPRINTED),
                keys("enter"),
            ),
        )

    def test_replaced_coupon_card(
        self, snap_compare: SnapCompare, app: PitApp, replaced_number: str
    ) -> None:
        """Looking up a replaced coupon: its card says who replaced it, why, and the number of
        the coupon that replaced it; void and replace are no longer offered."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(
                as_role(StaffRole.PIT_BOSS),
                keys("f4", "l"),
                type_number(replaced_number),
                keys("enter"),
            ),
        )
