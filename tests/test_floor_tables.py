"""Which tables each role sees: everyone with the floor capability sees all, a dealer its own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pitterm.domain import floor
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import GameType, StaffRole, VisitKind
from tests.factories import build_casino
from tests.floor_support import enrol, open_visit, start


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


def test_overview_shows_live_slips_with_ticking_suggestions(backend: Database) -> None:
    world = build_casino(backend)
    boss = world.actor(StaffRole.PIT_BOSS)
    rated = open_visit(backend, boss, VisitKind.GAMING_IDENTIFIED_RATED, enrol(backend, boss))
    ghost = open_visit(backend, boss, VisitKind.GAMING_GHOST_UNRATED, description="red cap")
    reward = open_visit(
        backend, boss, VisitKind.REWARD_IDENTIFIED, enrol(backend, boss, "Ada", "Lovelace")
    )
    start(backend, boss, rated, world.table_ids[0], seat=2)
    start(backend, boss, ghost, world.table_ids[0], seat=5)
    assert isinstance(backend.clock, FixedClock)
    backend.clock.advance(timedelta(hours=2))

    view = floor.overview(backend.reader(boss), boss)
    first, second = view.tables
    assert [(s.seat, s.patron, s.suggested_points) for s in first.slips] == [
        (2, "Rita Hayworth", 2100),
        (5, "ghost: red cap", 0),
    ]
    assert second.slips == []
    kinds = {v.visit_id: v.slip_id is not None for v in view.visits}
    assert kinds == {rated: True, ghost: True, reward: False}

    dealer = world.actor(StaffRole.DEALER)
    dealer_view = floor.overview(backend.reader(dealer), dealer)
    assert [t.table.label for t in dealer_view.tables] == ["BJ-01"] and dealer_view.visits == []
