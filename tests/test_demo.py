"""The demo (training) database: what it holds, that every demo login works, determinism."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import db
from pitterm import demo
from pitterm.domain.auth import CasinoInfo
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import GameType, StaffRole, Tier
from pitterm.domain.tables import (
    AuditLog,
    Casino,
    CasinoSettings,
    GameSettings,
    GamingTable,
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
    Staff,
)
from tests.conftest import FROZEN_NOW
from tests.factories import signed_in

GAME_TYPES = {GameType.BLACKJACK, GameType.BACCARAT, GameType.ROULETTE, GameType.CRAPS}


@pytest.fixture
def seeded(backend: Database) -> Database:
    demo.seed(backend)
    return backend


def test_demo_logins_cover_every_role_in_every_casino() -> None:
    codes = {casino.code for casino in demo.DEMO_CASINOS}
    assert len(codes) == 2
    for code in codes:
        logins = [login for login in demo.DEMO_LOGINS if login.casino_code == code]
        assert {login.role for login in logins} == set(StaffRole)
        assert len({login.staff_code for login in logins}) == len(logins)
        assert all(login.pin.isdigit() and 4 <= len(login.pin) <= 8 for login in logins)


def test_seed_builds_two_casinos_with_floors_staff_and_players(seeded: Database) -> None:
    with seeded.reader() as uow:
        session = uow.session
        casinos = {c.code: c.id for c in session.scalars(select(Casino))}
        assert set(casinos) == {"BELLA", "CREST"}
        zones = set(session.scalars(select(CasinoSettings.time_zone)))
        assert zones == {"America/Los_Angeles", "America/New_York"}

        for casino_id in casinos.values():
            tables = session.execute(
                select(GamingTable.label, GamingTable.pit, GameSettings.game_type)
                .join(GameSettings, GameSettings.id == GamingTable.game_settings_id)
                .where(GamingTable.casino_id == casino_id)
            ).all()
            assert len(tables) >= 12
            assert {game_type for _, _, game_type in tables} >= GAME_TYPES
            assert len({pit for _, pit, _ in tables}) >= 3

            staff = session.scalars(select(Staff).where(Staff.casino_id == casino_id)).all()
            assert {s.role for s in staff} == set(StaffRole)
            dealers = [s for s in staff if s.role is StaffRole.DEALER]
            assert dealers and all(d.assigned_table_id is not None for d in dealers)
            assert all(s.active and not s.locked for s in staff)

        assert session.scalar(select(func.count()).select_from(Player)) >= 300
        per_casino = Counter(session.scalars(select(Player.casino_id)))
        assert all(count >= 150 for count in per_casino.values())
        cards = list(session.scalars(select(Player.loyalty_card_number)))
        assert None not in cards and len(set(cards)) == len(cards)
        under_21 = session.scalar(
            select(func.count())
            .select_from(Player)
            .where(Player.date_of_birth > FROZEN_NOW.date().replace(year=FROZEN_NOW.year - 21))
        )
        assert under_21 == 0


def test_game_settings_are_realistic(seeded: Database) -> None:
    with seeded.reader() as uow:
        games = uow.session.scalars(select(GameSettings)).all()
        assert len(games) >= 8
        for game in games:
            _assert_realistic(game)


def _assert_realistic(game: GameSettings) -> None:
    assert game.points_conversion_rate == 10
    assert 500 <= game.min_bet_cents < game.max_bet_cents <= 10_000_000
    if game.game_type is GameType.ROULETTE:
        assert game.house_edge == Decimal("5.26")
        assert 30 <= game.decisions_per_hour <= 40
    if game.game_type is GameType.BLACKJACK:
        assert Decimal("1.5") <= game.house_edge <= 2
        assert 60 <= game.decisions_per_hour <= 80
    if game.game_type is GameType.BACCARAT:
        assert Decimal("1.06") <= game.house_edge <= Decimal("1.24")
    if game.game_type is GameType.CRAPS:
        assert Decimal("1.3") <= game.house_edge <= Decimal("1.5")
        assert 90 <= game.decisions_per_hour <= 110


def test_every_player_has_a_zero_balance_loyalty_account_across_all_tiers(
    seeded: Database,
) -> None:
    with seeded.reader() as uow:
        session = uow.session
        players = session.scalar(select(func.count()).select_from(Player))
        accounts = session.execute(
            select(PlayerLoyalty.casino_id, PlayerLoyalty.tier, PlayerLoyalty.current_balance)
        ).all()
        ledger_rows = session.scalar(select(func.count()).select_from(LoyaltyLedger))
    assert len(accounts) == players
    assert ledger_rows == 0
    assert {balance for _, _, balance in accounts} == {0}
    for casino_id in {casino_id for casino_id, _, _ in accounts}:
        tiers = Counter(tier for cid, tier, _ in accounts if cid == casino_id)
        assert set(tiers) == set(Tier)
        assert tiers[Tier.BRONZE] > tiers[Tier.SILVER] > tiers[Tier.GOLD]
        assert tiers[Tier.GOLD] > tiers[Tier.PLATINUM] > tiers[Tier.DIAMOND]


def test_seeding_is_audited(seeded: Database) -> None:
    with seeded.reader() as uow:
        actions = Counter(
            (casino_id, action)
            for casino_id, action in uow.session.execute(
                select(AuditLog.casino_id, AuditLog.action)
            )
        )
        casino_ids = list(uow.session.scalars(select(Casino.id)))
    for casino_id in casino_ids:
        assert actions[casino_id, "casino.created"] == 1
        assert actions[casino_id, "demo.players_seeded"] == 1
        assert actions[casino_id, "staff.created"] >= len(StaffRole)
        assert actions[casino_id, "gaming_table.created"] >= 12
        assert actions[casino_id, "game_settings.created"] >= 4


def test_every_demo_login_signs_in_with_its_role(seeded: Database) -> None:
    with seeded.reader() as uow:
        casinos = {
            c.code: CasinoInfo(id=c.id, code=c.code, name=c.name)
            for c in uow.session.scalars(select(Casino))
        }
    for login in demo.DEMO_LOGINS:
        casino = casinos[login.casino_code]
        actor = signed_in(seeded, casino, login.staff_code, login.pin)
        assert actor.role is login.role
        assert actor.casino_id == casino.id
        assert (actor.staff_code, actor.display_name) == (login.staff_code, login.name)


def _fresh_database(path: Path) -> Database:
    url = f"sqlite:///{path}"
    db.upgrade(url)
    return Database.from_url(url, clock=FixedClock(FROZEN_NOW))


def _people(database: Database) -> list[tuple[Any, ...]]:
    with database.reader() as uow:
        rows = uow.session.execute(
            select(
                Casino.code,
                Player.loyalty_card_number,
                Player.first_name,
                Player.last_name,
                Player.date_of_birth,
                Player.email,
                Player.phone,
                PlayerLoyalty.tier,
            )
            .join(Casino, Casino.id == Player.casino_id)
            .join(PlayerLoyalty, PlayerLoyalty.player_id == Player.id)
            .order_by(Casino.code, Player.loyalty_card_number)
        ).all()
    return [tuple(row) for row in rows]


def test_seeding_is_deterministic(tmp_path: Path) -> None:
    first, second = _fresh_database(tmp_path / "a.sqlite3"), _fresh_database(tmp_path / "b.sqlite3")
    try:
        demo.seed(first)
        demo.seed(second)
        people = _people(first)
        assert len(people) >= 300
        assert people == _people(second)
    finally:
        first.dispose()
        second.dispose()
