"""The demo (training) database: what it holds, that every demo login works, determinism."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from pitterm import demo
from pitterm.domain import cash, promo
from pitterm.domain import reconciliation as recon
from pitterm.domain.auth import CasinoInfo
from pitterm.domain.clock import FixedClock
from pitterm.domain.ctr import CtrStatus
from pitterm.domain.database import Database
from pitterm.domain.drift_rules import Cause, Event, explain
from pitterm.domain.enums import (
    GameType,
    LedgerReason,
    SlipStatus,
    StaffRole,
    Tier,
    VisitKind,
    VisitStatus,
)
from pitterm.domain.import_status import ImportBatchStatus, ImportRowStatus
from pitterm.domain.promo_rules import CouponStatus, ProgramStatus, PromoType
from pitterm.domain.recon_rules import Conflict, Freshness, ReconOutcome, ReconStatus
from pitterm.domain.tables import (
    AuditLog,
    Casino,
    CasinoSettings,
    CompItem,
    GameSettings,
    GamingTable,
    ImportBatch,
    ImportRow,
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
    RatingSlip,
    Staff,
    Visit,
)
from tests.conftest import BACKENDS, FROZEN_NOW, fresh_database, fresh_sqlite_database
from tests.factories import signed_in

GAME_TYPES = {GameType.BLACKJACK, GameType.BACCARAT, GameType.ROULETTE, GameType.CRAPS}


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One seeded demo per backend for the whole module: these tests only read it."""
    directory = tmp_path_factory.mktemp("demo")
    if request.param == "sqlite":  # a copy of the session's seeded demo (tests/conftest.py)
        template = request.getfixturevalue("demo_sqlite_template")
        with fresh_sqlite_database(template, directory) as database:
            yield database
        return
    with fresh_database(request, request.param, directory) as database:
        demo.seed(database)
        yield database


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


def test_every_player_has_a_loyalty_account_across_all_tiers(seeded: Database) -> None:
    with seeded.reader() as uow:
        session = uow.session
        players = session.scalar(select(func.count()).select_from(Player))
        accounts = session.execute(select(PlayerLoyalty.casino_id, PlayerLoyalty.tier)).all()
        without = session.scalars(
            select(Player.loyalty_card_number).where(
                ~select(PlayerLoyalty.player_id)
                .where(PlayerLoyalty.player_id == Player.id)
                .exists()
            )
        ).all()
    # One player, enrolled at the cage before the loyalty club, trains the reconciliation
    # queue's "seed a new loyalty record" case.
    assert without == [demo.RECON_NEW_ACCOUNT_CARD]
    assert players is not None and len(accounts) == players - 1
    for casino_id in {casino_id for casino_id, _ in accounts}:
        tiers = Counter(tier for cid, tier in accounts if cid == casino_id)
        assert set(tiers) == set(Tier)
        assert tiers[Tier.BRONZE] > tiers[Tier.SILVER] > tiers[Tier.GOLD]
        assert tiers[Tier.GOLD] > tiers[Tier.PLATINUM] > tiers[Tier.DIAMOND]


def test_balances_match_the_ledger_except_the_deliberately_drifted(seeded: Database) -> None:
    """Only the drift casino's six planted accounts disagree, two of each explainable kind."""
    with seeded.reader() as uow:
        computed = dict(
            list(
                uow.session.execute(
                    select(LoyaltyLedger.player_id, func.sum(LoyaltyLedger.points_delta)).group_by(
                        LoyaltyLedger.player_id
                    )
                )
            )
        )
        drifted = {
            player_id: (casino_code, balance)
            for player_id, casino_code, balance in uow.session.execute(
                select(PlayerLoyalty.player_id, Casino.code, PlayerLoyalty.current_balance).join(
                    Casino, Casino.id == PlayerLoyalty.casino_id
                )
            )
            if balance != (computed.get(player_id) or 0)
        }
        causes = Counter()
        for player_id, (_, balance) in drifted.items():
            events = [
                Event(str(e.id), e.created_at, e.reason.value, e.points_delta)
                for e in uow.session.scalars(
                    select(LoyaltyLedger).where(LoyaltyLedger.player_id == player_id)
                )
            ]
            causes[explain(events, balance).cause] += 1
    assert {code for code, _ in drifted.values()} == {demo.DRIFT_CASINO}
    assert causes == {
        Cause.DOUBLE_POSTED: 2,
        Cause.MISSING_CORRECTION: 2,
        Cause.STALE_SNAPSHOT: 2,
    }


def test_history_comps_and_a_live_floor(seeded: Database) -> None:
    with seeded.reader() as uow:
        session = uow.session
        reasons = Counter(session.scalars(select(LoyaltyLedger.reason)))
        oldest = session.scalar(select(func.min(LoyaltyLedger.created_at)))
        open_kinds = Counter(
            session.scalars(select(Visit.visit_kind).where(Visit.status == VisitStatus.OPEN))
        )
        live = Counter(
            session.scalars(select(RatingSlip.status).where(RatingSlip.status != SlipStatus.CLOSED))
        )
        comps = session.scalar(select(func.count()).select_from(CompItem))
        near_zero = session.scalar(
            select(func.count())
            .select_from(PlayerLoyalty)
            .where(PlayerLoyalty.current_balance.between(0, 200))
            .where(
                PlayerLoyalty.player_id.in_(
                    select(LoyaltyLedger.player_id).where(
                        LoyaltyLedger.reason == LedgerReason.REDEEM
                    )
                )
            )
        )
    assert reasons[LedgerReason.BASE_ACCRUAL] > 500 and reasons[LedgerReason.REDEEM] > 20
    assert oldest is not None and FROZEN_NOW - oldest > timedelta(days=90)
    assert set(open_kinds) == set(VisitKind)
    assert live[SlipStatus.OPEN] > 0 and live[SlipStatus.PAUSED] > 0
    assert comps == 2 * len(demo.COMP_CATALOG)
    assert near_zero >= 2


def test_compliance_watch_has_a_near_ctr_a_due_ctr_and_a_ghost(seeded: Database) -> None:
    for casino in demo.DEMO_CASINOS:
        login = next(
            x
            for x in demo.DEMO_LOGINS
            if x.casino_code == casino.code and x.role is StaffRole.PIT_BOSS
        )
        with seeded.reader() as uow:
            casino_id = uow.session.scalar(select(Casino.id).where(Casino.code == casino.code))
        assert casino_id is not None
        boss = signed_in(
            seeded,
            CasinoInfo(id=casino_id, code=casino.code, name=casino.name),
            login.staff_code,
            login.pin,
        )
        day = cash.compliance_day(seeded.reader(boss), boss)
        statuses = {p.worst for p in day.patrons}
        assert {CtrStatus.NEAR, CtrStatus.DUE} <= statuses
        assert any(p.patron.startswith("ghost:") for p in day.patrons)
        assert day.mtl


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
        assert actions[casino_id, "demo.history_seeded"] == 1
        assert actions[casino_id, "loyalty.redeem"] > 0
        assert actions[casino_id, "slip.started"] > 0
        assert actions[casino_id, "staff.created"] >= len(StaffRole)
        assert actions[casino_id, "gaming_table.created"] >= 12
        assert actions[casino_id, "game_settings.created"] >= 4


def test_bella_has_a_staged_vendor_import_with_a_few_error_rows(seeded: Database) -> None:
    with seeded.reader() as uow:
        [(casino_code, batch_id, status, file_name, row_count, error_count, by_role)] = (
            uow.session.execute(
                select(
                    Casino.code,
                    ImportBatch.id,
                    ImportBatch.status,
                    ImportBatch.file_name,
                    ImportBatch.row_count,
                    ImportBatch.error_count,
                    Staff.role,
                )
                .join(Casino, Casino.id == ImportBatch.casino_id)
                .join(Staff, Staff.id == ImportBatch.created_by)
                .where(ImportBatch.status == ImportBatchStatus.STAGED)
            ).all()
        )
        of_batch = ImportRow.batch_id == batch_id
        tiers = set(
            uow.session.scalars(
                select(ImportRow.imported_tier).where(
                    of_batch, ImportRow.imported_tier.is_not(None)
                )
            )
        )
        reasons = [
            problem["reason"]
            for errors in uow.session.scalars(
                select(ImportRow.errors).where(of_batch, ImportRow.status == ImportRowStatus.ERROR)
            )
            for problem in errors
        ]
        outcomes = uow.session.scalar(
            select(func.count())
            .select_from(ImportRow)
            .where(of_batch, ImportRow.outcome.is_not(None))
        )
    assert casino_code == demo.IMPORT_CASINO and by_role is StaffRole.LOYALTY_MANAGER
    assert status is ImportBatchStatus.STAGED and file_name == demo.VENDOR_FILE
    assert 40 <= row_count <= 80 and error_count == len(reasons) == 4
    assert tiers == set(demo.VENDOR_TIERS)
    assert any("not a real date" in r for r in reasons)
    assert any("cannot be negative" in r for r in reasons)
    assert any("formula" in r for r in reasons)
    assert any("card number or an e-mail" in r for r in reasons)
    assert outcomes == 0  # staged only: a trainer executes it
    assert batch_id is not None


def test_bella_has_an_executed_import_whose_queue_trains_every_case(seeded: Database) -> None:
    with seeded.reader() as uow:
        casino_id = uow.session.scalar(select(Casino.id).where(Casino.code == demo.IMPORT_CASINO))
    assert casino_id is not None
    login = next(
        x
        for x in demo.DEMO_LOGINS
        if x.casino_code == demo.IMPORT_CASINO and x.role is StaffRole.LOYALTY_MANAGER
    )
    casino = CasinoInfo(id=casino_id, code=demo.IMPORT_CASINO, name="")
    manager = signed_in(seeded, casino, login.staff_code, login.pin)
    batches = recon.list_batches(seeded.reader(manager), manager)
    [executed] = [b for b in batches if b.status is ImportBatchStatus.EXECUTED]
    assert executed.file_name == demo.RECON_FILE and executed.unmapped_labels == 1
    assert any(b.status is ImportBatchStatus.STAGED for b in batches)  # kept beside it
    labels = {
        lb.vendor_label: lb.target
        for lb in recon.tier_labels(seeded.reader(manager), manager, executed.batch_id)
    }
    assert labels[demo.RECON_UNMAPPED] == "unmapped" and labels["Employee"] == "ignore"
    rows = recon.list_queue(seeded.reader(manager), manager, executed.batch_id).rows
    shown = {(r.status, r.outcome) for r in rows}
    pending = ReconStatus.PENDING
    for outcome in ReconOutcome:  # upgrade, equal, downgrade, seed, ignore, unmapped
        assert (pending, outcome) in shown, outcome
    assert (ReconStatus.APPLIED, ReconOutcome.UPGRADE) in shown
    assert {r.freshness for r in rows if r.is_pending} == set(Freshness)
    assert any(Conflict.OTHER_OPEN_RECONCILIATION in r.conflicts for r in rows)
    [applied] = [r for r in rows if r.status is ReconStatus.APPLIED]
    assert applied.revertible and applied.applied_by_code == login.staff_code
    seed = next(r for r in rows if r.outcome is ReconOutcome.SEED)
    assert seed.loyalty_card_number == demo.RECON_NEW_ACCOUNT_CARD and not seed.has_loyalty_record


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


def _fresh_database(template: Path, path: Path, now: datetime = FROZEN_NOW) -> Database:
    """A copy of the session's migrated SQLite template at ``path``, its clock at ``now``."""
    shutil.copyfile(template, path)
    return Database.from_url(f"sqlite:///{path}", clock=FixedClock(now))


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


def test_seeding_is_deterministic(
    tmp_path: Path, sqlite_template: Path, demo_sqlite_template: Path
) -> None:
    """A seed now holds what the session's seed (tests/conftest.py, the same process) holds."""
    first = _fresh_database(demo_sqlite_template, tmp_path / "a.sqlite3")
    second = _fresh_database(sqlite_template, tmp_path / "b.sqlite3")
    try:
        demo.seed(second)
        people = _people(first)
        assert len(people) >= 300
        assert people == _people(second)
    finally:
        first.dispose()
        second.dispose()


def test_promo_programs_coupons_and_an_alert_in_every_casino(seeded: Database) -> None:
    """Every program type and status, every coupon status, and a raised shift alert."""
    for casino in demo.DEMO_CASINOS:
        boss = next(m for m in casino.staff if m.role is StaffRole.PIT_BOSS)
        info = seeded_casino(seeded, casino.code)
        actor = signed_in(seeded, info, boss.code, boss.pin)
        programs = promo.programs(seeded.reader(actor), actor)
        assert {p.promo_type for p in programs} == set(PromoType)
        assert {p.status for p in programs} == set(ProgramStatus)
        statuses: Counter[CouponStatus] = Counter()
        cursor: str | None = None
        while True:
            page = promo.inventory(seeded.reader(actor), actor, None, cursor, 200)
            statuses.update(c.status for c in page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert set(statuses) == set(CouponStatus), statuses
        lens = promo.shift_lens(seeded.reader(actor), actor)
        assert lens.alerts.alerts, lens.alerts
        assert lens.shift.total.window.issued_count >= 12


def seeded_casino(database: Database, code: str) -> CasinoInfo:
    with database.reader() as uow:
        row = uow.session.execute(
            select(Casino.id, Casino.code, Casino.name).where(Casino.code == code)
        ).one()
    return CasinoInfo(id=row.id, code=row.code, name=row.name)


def test_vendor_dates_age_by_the_casino_calendar_just_after_utc_midnight(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Seeded at 00:05 UTC, when Bella Vista (Los Angeles) is still on the day before.

    The vendor file's dates carry no zone and are read as the casino's local midnight, so
    the demo must count its "days since the last visit" back from the casino's date, not
    UTC's: otherwise the 400-day stale row is 399 calendar days old until UTC's date
    catches up (the pty reconciliation test failed at that hour).
    """
    zone = ZoneInfo(next(c for c in demo.DEMO_CASINOS if c.code == demo.IMPORT_CASINO).time_zone)
    now = datetime(2026, 11, 22, 0, 5, tzinfo=UTC)
    local_today = now.astimezone(zone).date()
    assert local_today == date(2026, 11, 21)  # the case this test is about
    database = _fresh_database(sqlite_template, tmp_path / "midnight.sqlite3", now)
    try:
        demo.seed(database)
        login = next(
            x
            for x in demo.DEMO_LOGINS
            if x.casino_code == demo.IMPORT_CASINO and x.role is StaffRole.LOYALTY_MANAGER
        )
        manager = signed_in(
            database, seeded_casino(database, demo.IMPORT_CASINO), login.staff_code, login.pin
        )
        [executed] = [
            b
            for b in recon.list_batches(database.reader(manager), manager)
            if b.status is ImportBatchStatus.EXECUTED
        ]
        rows = recon.list_queue(database.reader(manager), manager, executed.batch_id).rows
        ages = {
            (local_today - r.imported_last_activity_at.astimezone(zone).date()).days
            for r in rows
            if r.imported_last_activity_at is not None
        }
        # Beside the cases: the newcomer the import creates and a duplicate row.
        assert ages >= {days for *_, days in demo.RECON_CASES if days is not None}
        stale = [r for r in rows if r.freshness is Freshness.STALE]
        assert stale and all(r.imported_last_activity_at is not None for r in stale)
    finally:
        database.dispose()
