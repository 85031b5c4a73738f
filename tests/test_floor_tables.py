"""Which tables each role sees: everyone with the floor capability sees all, a dealer its own."""

from __future__ import annotations

import pytest

from pitterm.domain import floor
from pitterm.domain.database import Database
from pitterm.domain.enums import GameType, StaffRole
from tests.factories import build_casino


@pytest.mark.parametrize("role", [r for r in StaffRole if r is not StaffRole.DEALER])
def test_floor_roles_see_every_table(backend: Database, role: StaffRole) -> None:
    world = build_casino(backend)
    actor = world.actor(role)
    tables = floor.list_tables(backend.reader(actor), actor)
    assert [t.label for t in tables] == ["BJ-01", "BJ-02"]
    assert tables[0].game_type is GameType.BLACKJACK


def test_a_dealer_sees_only_its_table(backend: Database) -> None:
    world = build_casino(backend)
    dealer = world.actor(StaffRole.DEALER)
    assert [t.label for t in floor.list_tables(backend.reader(dealer), dealer)] == ["BJ-01"]


def test_tables_of_another_casino_are_invisible(backend: Database) -> None:
    build_casino(backend, "ALPHA")
    beta = build_casino(backend, "BETA")
    boss = beta.actor(StaffRole.PIT_BOSS)
    ids = {t.id for t in floor.list_tables(backend.reader(boss), boss)}
    assert ids == set(beta.table_ids)


def test_filters(backend: Database) -> None:
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    assert floor.list_tables(backend.reader(boss), boss, pit="Pit 9") == []
    assert len(floor.list_tables(backend.reader(boss), boss, game_type=GameType.BLACKJACK)) == 2
