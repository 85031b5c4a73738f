"""The demo (training) database: two casinos a trainer can run the whole terminal on.

``seed(database)`` builds it on a freshly migrated database. Casinos, games, tables and
staff go through the real setup services (so they are validated and audited like any
other); players are bulk-inserted with their loyalty accounts in one transaction per
casino and one summarising audit row. Everything random comes from a ``random.Random``
seeded per casino, so two seeded databases hold the same people; timestamps are taken
relative to the database's clock.

The data is described by ``DEMO_CASINOS`` (tables, games, staff) and the generators below
(players); each part has its own function so later parts (ledger history, visits, promo
programs, a staged import) can be added beside them.
"""

from __future__ import annotations

import random
import tempfile
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from pitterm.demo_casinos import (
    DEMO_CASINOS,
    DEMO_LOGINS,
    DemoCasino,
    DemoGame,
    DemoLogin,
    DemoStaff,
    DemoTable,
)
from pitterm.domain import (
    audit,
    auth,
    cash,
    casinos,
    imports,
    loyalty,
    promo,
    promo_numbers,
    reconciliation,
    slips,
    visits,
)
from pitterm.domain.accrual import PolicySnapshot, accrue
from pitterm.domain.actor import Actor
from pitterm.domain.auth import CasinoInfo
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database, Scope, UnitOfWork
from pitterm.domain.enums import (
    CashDirection,
    LedgerReason,
    SlipStatus,
    StaffRole,
    Tier,
    VisitKind,
    VisitStatus,
)
from pitterm.domain.gaming_day import gaming_day
from pitterm.domain.promo_rules import PromoType
from pitterm.domain.tables import (
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
    RatingSlip,
    RatingSlipBet,
    Visit,
)

__all__ = [
    "DEMO_CASINOS",
    "DEMO_LOGINS",
    "DRIFT_CASINO",
    "PLAYERS_PER_CASINO",
    "DemoCasino",
    "DemoGame",
    "DemoLogin",
    "DemoStaff",
    "DemoTable",
    "SeededCasino",
    "seed",
    "seed_casino",
    "seed_comp_catalog",
    "seed_drifted_accounts",
    "seed_executed_import",
    "seed_games_and_tables",
    "seed_live_floor",
    "seed_play_history",
    "seed_players",
    "seed_promo",
    "seed_recent_comps",
    "seed_staff",
    "seed_staged_import",
]

PLAYERS_PER_CASINO = 180
POINTS_PER_DOLLAR_THEO = Decimal(10)
"""Every demo game converts theoretical win to points at this rate."""

TIER_SHARES: tuple[tuple[Tier, int], ...] = (
    (Tier.BRONZE, 45),
    (Tier.SILVER, 25),
    (Tier.GOLD, 15),
    (Tier.PLATINUM, 10),
    (Tier.DIAMOND, 5),
)
"""Percent of a casino's players in each tier: a pyramid, as on any real floor."""


@dataclass
class SeededCasino:
    """What seeding one casino created, for the parts that build on it."""

    spec: DemoCasino
    casino: CasinoInfo
    admin: Actor
    rng: random.Random
    game_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    table_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    staff_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    player_ids: list[uuid.UUID] = field(default_factory=list)
    signed_in: dict[StaffRole, Actor] = field(default_factory=dict)
    """One real sign-in per role: each PIN check is a deliberate scrypt cost."""


def seed(database: Database) -> None:
    """Fill a freshly migrated database with the demo casinos. Deterministic."""
    for spec in DEMO_CASINOS:
        seeded = seed_casino(database, spec)
        seed_games_and_tables(database, seeded)
        seed_staff(database, seeded)
        seed_players(database, seeded)
        seed_comp_catalog(database, seeded)
        seed_play_history(database, seeded)
        seed_recent_comps(database, seeded)
        seed_live_floor(database, seeded)
        seed_promo(database, seeded)
        if spec.code == DRIFT_CASINO:
            seed_drifted_accounts(database, seeded)
        if spec.code == IMPORT_CASINO:
            seed_staged_import(database, seeded)
            seed_executed_import(database, seeded)


def seed_casino(database: Database, spec: DemoCasino) -> SeededCasino:
    """Create the casino and its admin as the owner would, then sign the admin in."""
    casino = casinos.create_casino(
        database.uow(),
        casinos.NewCasino(code=spec.code, name=spec.name, time_zone=spec.time_zone),
    )
    admin = spec.staff[0]
    if admin.role is not StaffRole.ADMIN:
        raise ValueError(f"{spec.code}: the first demo staff member must be the admin")
    admin_id = casinos.bootstrap_admin(
        database.uow(),
        casino.id,
        casinos.NewStaff(code=admin.code, name=admin.name, role=admin.role, pin=admin.pin),
    )
    actor = auth.sign_in(
        database.uow(Scope(casino.id)), auth.parse_credentials(admin.code, admin.pin)
    )
    seeded = SeededCasino(spec, casino, actor, random.Random(f"pitterm-demo-{spec.code}"))
    seeded.staff_ids[admin.code] = admin_id
    return seeded


def seed_games_and_tables(database: Database, seeded: SeededCasino) -> None:
    """Game settings and the tables that play them, through the admin's setup services."""
    admin = seeded.admin
    for game in seeded.spec.games:
        seeded.game_ids[game.name] = casinos.add_game(
            database.uow(admin),
            admin,
            casinos.NewGame(
                name=game.name,
                game_type=game.game_type,
                house_edge=Decimal(game.house_edge),
                decisions_per_hour=game.decisions_per_hour,
                points_conversion_rate=POINTS_PER_DOLLAR_THEO,
                rounding=game.rounding,
                min_bet_cents=game.min_bet_dollars * 100,
                max_bet_cents=game.max_bet_dollars * 100,
            ),
        )
    for table in seeded.spec.tables:
        seeded.table_ids[table.label] = casinos.add_table(
            database.uow(admin),
            admin,
            casinos.NewTable(
                label=table.label,
                pit=table.pit,
                game_settings_id=seeded.game_ids[table.game],
                seats=table.seats,
            ),
        )


def seed_staff(database: Database, seeded: SeededCasino) -> None:
    """Everyone but the admin, added by the admin; dealers are assigned to their tables."""
    admin = seeded.admin
    for member in seeded.spec.staff:
        if member.code in seeded.staff_ids:
            continue
        seeded.staff_ids[member.code] = casinos.add_staff(
            database.uow(admin),
            admin,
            casinos.NewStaff(
                code=member.code,
                name=member.name,
                role=member.role,
                pin=member.pin,
                assigned_table_id=None if member.table is None else seeded.table_ids[member.table],
            ),
        )


def seed_players(database: Database, seeded: SeededCasino) -> None:
    """Enrolled players with loyalty accounts across all tiers, zero balance (no ledger yet).

    Bulk-inserted in one transaction; one audit row summarises what was created.
    """
    casino_id = seeded.casino.id
    with database.uow(Scope(casino_id)) as uow:
        now = uow.now()
        players = player_rows(seeded.spec, casino_id, now, seeded.rng, PLAYERS_PER_CASINO)
        tiers = tier_sequence(seeded.rng, len(players))
        uow.session.execute(insert(Player), players)
        uow.session.execute(
            insert(PlayerLoyalty),
            [
                {
                    "player_id": player["id"],
                    "casino_id": casino_id,
                    "current_balance": 0,
                    "tier": tier,
                    "updated_at": now,
                }
                for player, tier in zip(players, tiers, strict=True)
            ],
        )
        counts = Counter(tiers)
        audit.record(
            uow,
            casino_id=casino_id,
            staff_id=None,
            action="demo.players_seeded",
            entity_type="casino",
            entity_id=casino_id,
            after={
                "players": len(players),
                "tiers": {tier.value: counts[tier] for tier in Tier},
                "card_prefix": seeded.spec.card_prefix,
            },
        )
        uow.commit()
    seeded.player_ids = [player["id"] for player in players]


def tier_sequence(rng: random.Random, count: int) -> list[Tier]:
    """``count`` tiers in ``TIER_SHARES`` proportions (at least one of each), shuffled."""
    sizes = {tier: max(1, count * share // 100) for tier, share in TIER_SHARES}
    sizes[Tier.BRONZE] += count - sum(sizes.values())
    tiers = [tier for tier, size in sizes.items() for _ in range(size)]
    rng.shuffle(tiers)
    return tiers


FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty",
    "Anthony", "Sandra", "Mark", "Margaret", "Donald", "Ashley", "Steven", "Kimberly", "Paul",
    "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda",
    "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca",
    "Jason", "Sharon", "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Dorothy", "Jacob",
    "Amy", "Gary", "Kathleen", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Brenda",
    "Stephen", "Emma", "Larry", "Anna", "Justin", "Pamela", "Scott", "Nicole", "Brandon",
    "Samantha", "Benjamin", "Katherine", "Samuel", "Christine", "Gregory", "Helen", "Alexander",
    "Debra", "Frank", "Rachel", "Raymond", "Carolyn", "Jack", "Janet", "Dennis", "Maria",
    "Jerry", "Olivia", "Tyler", "Heather", "Aaron", "Diane", "José", "Guadalupe", "Carlos",
    "Lucía", "Hiroshi", "Mei", "Wei", "Ananya", "Arjun", "Fatima", "Omar", "Chinedu", "Ngozi",
    "Sven", "Ingrid", "Dmitri", "Olga", "Zoë", "Renée", "Thanh", "Minh", "Seo-yeon", "Jae",
    "Aiyana", "Kai", "Malia", "Rafael", "Giulia", "Sean", "Siobhan", "Yusuf", "Leila",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
    "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward",
    "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza",
    "Ruiz", "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long",
    "Ross", "Foster", "Jimenez", "O'Brien", "O'Connor", "McAllister", "MacDonald", "Van Dyke",
    "De la Cruz", "St. John", "Nakamura", "Yamamoto", "Wang", "Li", "Chen", "Park", "Choi",
    "Tran", "Pham", "Singh", "Sharma", "Okafor", "Mensah", "Haddad", "Khalil", "Novak",
    "Kowalski", "Petrov", "Ivanova", "Larsen", "Johansson", "Müller", "Schmidt", "Rossi",
    "Bianchi", "Fontaine", "Dubois", "Papadopoulos", "Kaya", "Cohen", "Levi", "Byrne",
    "Gallagher", "Santos", "Oliveira", "Silva", "Hoang", "Kealoha", "Begay", "Yazzie",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")


def local_date(now: datetime, spec: DemoCasino) -> date:
    """Today on the casino's calendar: vendor dates without a zone are read in that zone."""
    return now.astimezone(ZoneInfo(spec.time_zone)).date()


def player_rows(
    spec: DemoCasino, casino_id: uuid.UUID, now: datetime, rng: random.Random, count: int
) -> list[dict[str, Any]]:
    """``count`` distinct, plausible players for one casino, as ``player`` rows."""
    today = local_date(now, spec)
    names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], count)
    cards = rng.sample(range(1_000_000, 10_000_000), count)
    rows: list[dict[str, Any]] = []
    for (first, last), card in zip(names, cards, strict=True):
        born = _date_of_birth(rng, today)
        enrolled = now - timedelta(days=rng.randint(1, 6 * 365), minutes=rng.randint(0, 1439))
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "casino_id": casino_id,
                "first_name": first,
                "last_name": last,
                "date_of_birth": born,
                "email": _email(rng, first, last, born) if rng.random() < 0.9 else None,
                "phone": _phone(rng, spec.area_codes) if rng.random() < 0.95 else None,
                "loyalty_card_number": f"{spec.card_prefix}{card}",
                "created_at": enrolled,
            }
        )
    return rows


def _date_of_birth(rng: random.Random, today: date) -> date:
    """Ages 21 to 89, most between 35 and 70."""
    age = min(89, max(21, round(rng.triangular(21, 90, 55))))
    birthday_this_age = date(today.year - age, today.month, min(today.day, 28))
    return birthday_this_age - timedelta(days=rng.randint(1, 364))


def _email(rng: random.Random, first: str, last: str, born: date) -> str:
    local = _ascii(first)
    style = rng.randrange(4)
    if style == 0:
        local = f"{local}.{_ascii(last)}"
    elif style == 1:
        local = f"{local[0]}{_ascii(last)}"
    elif style == 2:
        local = f"{local}{_ascii(last)}{rng.randint(1, 99)}"
    else:
        local = f"{local}_{_ascii(last)[:1]}{born.year % 100:02d}"
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def _ascii(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in decomposed.lower() if ch.isalnum())


def _phone(rng: random.Random, area_codes: tuple[str, ...]) -> str:
    """North American numbers in the 555-01xx range set aside for fiction."""
    return f"({rng.choice(area_codes)}) 555-01{rng.randint(0, 99):02d}"


# -- play, comps and the live floor ------------------------------------------------------

COMP_CATALOG: tuple[tuple[str, str, int], ...] = (
    ("Coffee & pastry", "Food", 150),
    ("Buffet", "Food", 500),
    ("Noodle bar for two", "Food", 900),
    ("Steakhouse dinner", "Food", 2_500),
    ("Self parking, 24 h", "Services", 100),
    ("Spa treatment", "Services", 3_000),
    ("Show tickets (pair)", "Entertainment", 4_000),
    ("Room night", "Hotel", 8_000),
    ("Suite upgrade", "Hotel", 15_000),
)
"""name, category, points cost — the catalog a trainer picks comps from."""

HISTORY_DAYS = 150
"""Rated play history reaches this far back; the last week is left for comps."""
BET_RANGE_DOLLARS: dict[Tier, tuple[int, int]] = {
    Tier.BRONZE: (10, 50),
    Tier.SILVER: (25, 100),
    Tier.GOLD: (50, 300),
    Tier.PLATINUM: (100, 600),
    Tier.DIAMOND: (300, 3_000),
}
DRIFT_CASINO = "BELLA"
"""Only this casino carries deliberately drifted accounts, for the Audit mode."""


def seed_comp_catalog(database: Database, seeded: SeededCasino) -> None:
    for name, category, cost in COMP_CATALOG:
        loyalty.add_comp(
            database.uow(seeded.admin),
            seeded.admin,
            loyalty.NewComp(name=name, category=category, points_cost=cost),
        )


def seed_play_history(database: Database, seeded: SeededCasino) -> None:
    """Months of closed, rated visits: one slip each, accrued exactly as a close would.

    Bulk-inserted (a close through the service per slip would take minutes); the accrual
    itself is the domain rule, and each entry's metadata is built by the same function the
    slip service uses, so the history explains itself like live entries do.
    """
    spec, rng, casino_id = seeded.spec, seeded.rng, seeded.casino.id
    games = {g.name: g for g in spec.games}
    raters = [seeded.staff_ids[m.code] for m in spec.staff if m.role is StaffRole.PIT_BOSS]
    with database.uow(Scope(casino_id)) as uow:
        now = uow.now()
        settings = casinos.load_settings(uow, casino_id)
        tiers = dict(
            list(
                uow.session.execute(
                    select(PlayerLoyalty.player_id, PlayerLoyalty.tier).where(
                        PlayerLoyalty.casino_id == casino_id
                    )
                )
            )
        )
        rows: dict[str, list[Any]] = {"visit": [], "slip": [], "bet": [], "ledger": []}
        balances: Counter[uuid.UUID] = Counter()
        players = seeded.player_ids[: len(seeded.player_ids) * 7 // 10]
        for player_id in players:
            for _ in range(rng.randint(1, 10)):
                table = rng.choice(spec.tables)
                game = games[table.game]
                low, high = BET_RANGE_DOLLARS[tiers[player_id] or Tier.BRONZE]
                bet = max(game.min_bet_dollars, min(game.max_bet_dollars, rng.randint(low, high)))
                started = now - timedelta(
                    days=rng.randint(8, HISTORY_DAYS), minutes=rng.randint(0, 1439)
                )
                played = rng.randint(20 * 60, 5 * 3600)
                closed_at = started + timedelta(seconds=played)
                snapshot = PolicySnapshot(
                    house_edge=Decimal(game.house_edge),
                    decisions_per_hour=game.decisions_per_hour,
                    points_conversion_rate=POINTS_PER_DOLLAR_THEO,
                    rounding=game.rounding,
                )
                result = accrue(bet * 100, played, snapshot)
                rater = rng.choice(raters)
                visit = Visit(
                    id=_uuid(rng),
                    casino_id=casino_id,
                    player_id=player_id,
                    visit_kind=VisitKind.GAMING_IDENTIFIED_RATED,
                    status=VisitStatus.CLOSED,
                    gaming_day=gaming_day(started, settings.time_zone, settings.gaming_day_start),
                    opened_at=started,
                    opened_by=rater,
                    closed_at=closed_at,
                    closed_by=rater,
                )
                slip = RatingSlip(
                    id=_uuid(rng),
                    casino_id=casino_id,
                    visit_id=visit.id,
                    table_id=seeded.table_ids[table.label],
                    seat=rng.randint(1, table.seats),
                    status=SlipStatus.CLOSED,
                    average_bet_cents=bet * 100,
                    policy_snapshot={
                        "loyalty": snapshot.model_dump(mode="json"),
                        "game": game.name,
                    },
                    started_at=started,
                    started_by=rater,
                    closed_at=closed_at,
                    closed_by=rater,
                    played_seconds=played,
                    theo=result.theo,
                    points=result.points,
                )
                closed = slips.ClosedSlip(
                    slip_id=slip.id,
                    visit_id=visit.id,
                    visit_kind=visit.visit_kind,
                    started_at=started,
                    closed_at=closed_at,
                    paused_seconds=0,
                    played_seconds=played,
                    average_bet_cents=bet * 100,
                    snapshot=snapshot,
                    theo=result.theo,
                    points=result.points,
                    minted=True,
                )
                rows["visit"].append(visit)
                rows["slip"].append(slip)
                rows["bet"].append(
                    RatingSlipBet(
                        id=_uuid(rng),
                        casino_id=casino_id,
                        slip_id=slip.id,
                        average_bet_cents=bet * 100,
                        changed_at=started,
                        changed_by=rater,
                    )
                )
                rows["ledger"].append(
                    LoyaltyLedger(
                        id=_uuid(rng),
                        casino_id=casino_id,
                        player_id=player_id,
                        rating_slip_id=slip.id,
                        visit_id=visit.id,
                        staff_id=rater,
                        points_delta=result.points,
                        reason=LedgerReason.BASE_ACCRUAL,
                        idempotency_key=slips.accrual_key(slip.id),
                        source_kind="rating_slip",
                        source_id=slip.id,
                        metadata_=slips.accrual_metadata(slip, visit, closed),
                        created_at=closed_at,
                    )
                )
                balances[player_id] += result.points
        for kind in ("visit", "slip", "bet", "ledger"):
            uow.session.add_all(rows[kind])
            uow.session.flush()
        # ORM bulk UPDATE by primary key: one executemany, no per-row round trips.
        uow.session.execute(
            update(PlayerLoyalty),
            [
                {
                    "player_id": pid,
                    "casino_id": casino_id,
                    "current_balance": points,
                    "updated_at": now,
                }
                for pid, points in balances.items()
            ],
        )
        audit.record(
            uow,
            casino_id=casino_id,
            staff_id=None,
            action="demo.history_seeded",
            entity_type="casino",
            entity_id=casino_id,
            after={"visits": len(rows["visit"]), "points": sum(balances.values())},
        )
        uow.commit()


def seed_recent_comps(database: Database, seeded: SeededCasino) -> None:
    """Comps over the last week through the real redeem service, some leaving players near 0."""
    rng = seeded.rng
    boss = _sign_in(database, seeded, StaffRole.PIT_BOSS)
    with database.reader(boss) as uow:
        now = uow.now()
        accounts = list(
            uow.session.execute(
                select(PlayerLoyalty.player_id, PlayerLoyalty.current_balance)
                .where(PlayerLoyalty.current_balance > 0)
                .order_by(PlayerLoyalty.player_id)
            )
        )
    catalog = {c.name: c for c in loyalty.comp_catalog(database.reader(boss), boss)}
    for index, (player_id, balance) in enumerate(rng.sample(accounts, len(accounts) // 3)):
        at = now - timedelta(days=rng.randint(0, 6), minutes=rng.randint(0, 1439))
        past = Database(database.engine, FixedClock(at))
        affordable = [c for c in catalog.values() if c.points_cost <= balance]
        if index % 8 == 0 and balance > 200:
            # Spend nearly everything: these players show the overdraw approval prompt.
            loyalty.redeem(
                past.uow(boss),
                boss,
                loyalty.Redeem(
                    player_id=player_id,
                    points=balance - rng.randint(0, 150),
                    note="Suite and dinner package",
                    idempotency_key=_uuid(rng),
                ),
            )
        elif affordable:
            comp = rng.choice(affordable)
            loyalty.redeem(
                past.uow(boss),
                boss,
                loyalty.Redeem(
                    player_id=player_id,
                    comp_id=comp.id,
                    note=f"{comp.name} on request",
                    idempotency_key=_uuid(rng),
                ),
            )


def seed_live_floor(database: Database, seeded: SeededCasino) -> None:
    """Tonight's floor, through the real services: visits of all three kinds, slips in play
    (one paused), and buy-ins that put one player near the CTR line and one over it."""
    rng, spec = seeded.rng, seeded.spec
    boss = _sign_in(database, seeded, StaffRole.PIT_BOSS)
    cashier = _sign_in(database, seeded, StaffRole.CASHIER)
    now = database.clock.now()
    tables = [t for t in spec.tables if t.game != spec.tables[-1].game][:8]
    rated = rng.sample(seeded.player_ids[: len(seeded.player_ids) * 7 // 10], 8)

    def at(minutes_ago: int) -> Database:
        return Database(database.engine, FixedClock(now - timedelta(minutes=minutes_ago)))

    slip_ids = []
    for player_id, table in zip(rated, tables, strict=False):
        started = rng.randint(15, 200)
        past = at(started)
        visit = visits.open_visit(
            past.uow(boss),
            boss,
            visits.OpenVisit(
                kind=VisitKind.GAMING_IDENTIFIED_RATED,
                player_id=player_id,
                idempotency_key=_uuid(rng),
            ),
        )
        game = next(g for g in spec.games if g.name == table.game)
        slip_ids.append(
            slips.start_slip(
                past.uow(boss),
                boss,
                slips.StartSlip(
                    visit_id=visit.visit_id,
                    table_id=seeded.table_ids[table.label],
                    seat=rng.randint(1, table.seats),
                    average_bet_cents=rng.randint(game.min_bet_dollars, game.min_bet_dollars * 8)
                    * 100,
                    idempotency_key=_uuid(rng),
                ),
            ).slip_id
        )
        if player_id not in rated[1:3]:  # those two get exact amounts below
            cash.record_cash(
                past.uow(cashier),
                cashier,
                cash.RecordCash(
                    visit_id=visit.visit_id,
                    direction=CashDirection.CASH_IN,
                    amount_cents=rng.choice((500, 1_000, 2_000, 5_000)) * 100,
                    idempotency_key=_uuid(rng),
                ),
            )
    slips.pause_slip(
        at(10).uow(boss), boss, slips.SlipCommand(slip_id=slip_ids[0], idempotency_key=_uuid(rng))
    )
    ghosts = []
    for description, table, seat in (
        ("Man in a grey suit, cash only", tables[1], 6),
        ("Woman, red scarf, declined a card", tables[2], 5),
    ):
        past = at(rng.randint(30, 120))
        ghost = visits.open_visit(
            past.uow(boss),
            boss,
            visits.OpenVisit(
                kind=VisitKind.GAMING_GHOST_UNRATED,
                description=description,
                table_id=seeded.table_ids[table.label],
                seat=seat,
                idempotency_key=_uuid(rng),
            ),
        )
        slips.start_slip(
            past.uow(boss),
            boss,
            slips.StartSlip(
                visit_id=ghost.visit_id,
                table_id=seeded.table_ids[table.label],
                seat=seat,
                average_bet_cents=10_000,
                idempotency_key=_uuid(rng),
            ),
        )
        ghosts.append(ghost.visit_id)
    for player_id in rng.sample(seeded.player_ids[len(seeded.player_ids) * 7 // 10 :], 2):
        visits.open_visit(
            at(rng.randint(5, 60)).uow(boss),
            boss,
            visits.OpenVisit(
                kind=VisitKind.REWARD_IDENTIFIED, player_id=player_id, idempotency_key=_uuid(rng)
            ),
        )
    # Compliance: one rated player near the CTR line ($9,100 in), one over it ($13,500),
    # a ghost over it ($12,000), and MTL lines for every buy-in of $3,000 or more.
    with database.reader(boss) as uow:
        rated_visits = dict(
            list(
                uow.session.execute(
                    select(Visit.player_id, Visit.id).where(
                        Visit.status == VisitStatus.OPEN, Visit.player_id.in_(rated)
                    )
                )
            )
        )
    for visit_id, amounts in (
        (rated_visits[rated[1]], (4_000_00, 5_100_00)),
        (rated_visits[rated[2]], (6_000_00, 4_500_00, 3_000_00)),
        (ghosts[0], (9_000_00, 3_000_00)),
    ):
        for cents in amounts:
            cash.record_cash(
                at(rng.randint(1, 9)).uow(cashier),
                cashier,
                cash.RecordCash(
                    visit_id=visit_id,
                    direction=CashDirection.CASH_IN,
                    amount_cents=cents,
                    idempotency_key=_uuid(rng),
                ),
            )


def seed_promo(database: Database, seeded: SeededCasino) -> None:
    """Promo programs of every type and status, coupons in every status, and a busy shift.

    A quiet trailing week (one to three coupons in this shift's hours each day) against a
    dozen coupons this shift, two of them voided or replaced and two expiring within a day,
    so the shift dashboard raises its alerts. Numbers are typed from the casino's seeded
    random stream, so two seeded databases hold the same coupons.
    """
    rng = seeded.rng
    boss = _sign_in(database, seeded, StaffRole.PIT_BOSS)
    now = database.clock.now()
    shift_start = promo.issuance_by_hour(database.reader(boss), boss).start

    def at(moment: datetime) -> Database:
        return Database(database.engine, FixedClock(moment))

    def program(
        name: str, kind: PromoType, start: datetime, end: datetime, *, activate: bool = True
    ) -> promo.ProgramView:
        saved = promo.create_program(
            at(start).uow(boss),
            boss,
            promo.NewProgram(
                name=name,
                promo_type=kind,
                start_at=start,
                end_at=end,
                terms=f"{kind.label} for rated players; one per visit.",
                idempotency_key=_uuid(rng),
            ),
        ).program
        if not activate:
            return saved
        return promo.activate_program(
            at(start).uow(boss),
            boss,
            promo.ProgramCommand(program_id=saved.id, idempotency_key=_uuid(rng)),
        ).program

    def issue(
        source: promo.ProgramView, moment: datetime, expires: datetime | None = None
    ) -> promo.CouponView:
        face = rng.choice((1_000, 2_500, 5_000, 10_000))
        player = rng.choice(seeded.player_ids) if rng.random() < 0.7 else None
        return promo.issue_coupon(
            at(moment).uow(boss),
            boss,
            promo.IssueCoupon(
                program_id=source.id,
                face_value_cents=face,
                required_match_wager_cents=face if source.promo_type is PromoType.MATCH_PLAY else 0,
                player_id=player,
                expires_at=expires,
                validation_number=promo_numbers.generate(source.promo_type.prefix, rng).text,
                idempotency_key=_uuid(rng),
            ),
        ).coupon

    month_ago, ahead = now - timedelta(days=30), now + timedelta(days=30)
    match = program("Weekend Match Play", PromoType.MATCH_PLAY, month_ago, ahead)
    free_bet = program("High Roller Free Bet", PromoType.FREE_BET, month_ago, ahead)
    nonneg = program("Slot Club Nonnegotiable", PromoType.NONNEGOTIABLE, month_ago, ahead)
    program(
        "Holiday Chip Giveaway",
        PromoType.OTHER,
        now - timedelta(days=1),
        now + timedelta(days=45),
        activate=False,
    )
    october = program("October Match Play", PromoType.MATCH_PLAY, now - timedelta(days=60), ahead)
    # October's coupons, issued seven weeks ago, expired three weeks ago.
    for day in (49, 48, 47):
        issue(october, now - timedelta(days=day), now - timedelta(days=21))
    promo.end_program(
        at(now - timedelta(days=20)).uow(boss),
        boss,
        promo.ProgramCommand(program_id=october.id, idempotency_key=_uuid(rng)),
    )
    # A quiet trailing week: this shift's hours, one to three coupons a day.
    offset = now - shift_start
    for day in range(7, 0, -1):
        for _ in range(rng.randint(1, 3)):
            moment = now - timedelta(days=day) - offset * rng.random()
            issue(rng.choice((match, match, free_bet, nonneg)), moment)
    # This shift: a dozen coupons, spread from the shift's start until a minute ago.
    span = max(offset - timedelta(minutes=1), timedelta(0))
    current = [
        issue(rng.choice((match, match, free_bet, nonneg)), shift_start + span * (i + 1) / 13)
        for i in range(12)
    ]
    soon = now + timedelta(hours=rng.randint(6, 20))
    for _ in range(2):
        issue(match, shift_start + span / 2, soon)
    later = now - min(offset, timedelta(seconds=30)) / 2
    promo.void_coupon(
        at(later).uow(boss),
        boss,
        promo.VoidCoupon(
            coupon_id=current[1].id, reason="Misprinted amount", idempotency_key=_uuid(rng)
        ),
    )
    promo.replace_coupon(
        at(later).uow(boss),
        boss,
        promo.ReplaceCoupon(
            coupon_id=current[2].id,
            reason="Patron tore the coupon",
            validation_number=promo_numbers.generate(current[2].promo_type.prefix, rng).text,
            idempotency_key=_uuid(rng),
        ),
    )
    promo.pause_program(
        at(later).uow(boss),
        boss,
        promo.ProgramCommand(program_id=nonneg.id, idempotency_key=_uuid(rng)),
    )
    promo.expire_due(database.uow(boss), boss)


def seed_drifted_accounts(database: Database, seeded: SeededCasino) -> None:
    """Break a few cached balances on purpose, one kind each pair, for Audit training.

    double post (cache counted the last accrual twice), missing correction (an adjustment in
    the ledger that the cache never applied), stale snapshot (the cache stopped before the
    last two entries). Written straight to the tables, as the faults they imitate would be.
    """
    casino_id = seeded.casino.id
    with database.uow(Scope(casino_id)) as uow:
        history = {
            player_id: list(entries)
            for player_id, entries in _entries_by_player(uow, casino_id).items()
            if len(entries) >= 3
        }
        chosen = seeded.rng.sample(sorted(history), 6)
        for index, player_id in enumerate(chosen):
            entries = history[player_id]
            account = uow.session.get_one(PlayerLoyalty, (player_id, casino_id))
            if index < 2:
                account.current_balance += entries[-1].points_delta
            elif index < 4:
                uow.session.add(
                    LoyaltyLedger(
                        id=_uuid(seeded.rng),
                        casino_id=casino_id,
                        player_id=player_id,
                        staff_id=seeded.staff_ids[seeded.spec.staff[0].code],
                        points_delta=-250,
                        reason=LedgerReason.ADJUSTMENT,
                        note="Duplicate buffet comp reversed",
                        source_kind="manual",
                        metadata_={"note": "Duplicate buffet comp reversed"},
                        created_at=entries[-1].created_at + timedelta(hours=1),
                    )
                )
            else:
                account.current_balance -= entries[-1].points_delta + entries[-2].points_delta
        uow.commit()


def _entries_by_player(
    uow: UnitOfWork, casino_id: uuid.UUID
) -> dict[uuid.UUID, list[LoyaltyLedger]]:
    grouped: dict[uuid.UUID, list[LoyaltyLedger]] = {}
    for entry in uow.session.scalars(
        select(LoyaltyLedger)
        .where(LoyaltyLedger.casino_id == casino_id)
        .order_by(LoyaltyLedger.created_at, LoyaltyLedger.id)
    ):
        grouped.setdefault(entry.player_id, []).append(entry)
    return grouped


def _sign_in(database: Database, seeded: SeededCasino, role: StaffRole) -> Actor:
    if role not in seeded.signed_in:
        member = next(m for m in seeded.spec.staff if m.role is role)
        seeded.signed_in[role] = auth.sign_in(
            database.uow(Scope(seeded.casino.id)), auth.parse_credentials(member.code, member.pin)
        )
    return seeded.signed_in[role]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# --- a staged import (BELLA) --------------------------------------------------------------

IMPORT_CASINO = "BELLA"
"""The casino whose loyalty manager has a legacy vendor export staged, not yet executed."""
VENDOR_TIERS = ("Gold+", "Platinum Elite", "Bronze", "SILVER", "Black Card")
"""The legacy vendor's tier labels, kept verbatim on the staged rows for reconciliation."""
VENDOR_HEADER = (
    "Member No",
    "Given Name",
    "Surname",
    "Birth Date",
    "E-mail",
    "Mobile",
    "Club Level",
    "Points Bal",
    "Last Visit",
)
VENDOR_MAPPING: dict[str, Any] = {
    "columns": {
        "Member No": "loyalty_card_number",
        "Given Name": "first_name",
        "Surname": "last_name",
        "Birth Date": "date_of_birth",
        "E-mail": "email",
        "Mobile": "phone",
        "Club Level": "imported_tier",
        "Points Bal": "imported_points_balance",
        "Last Visit": "imported_last_activity_at",
    },
    "date_formats": ["%d/%m/%Y"],
}
VENDOR_FILE = "legacy-club-export.csv"


def seed_staged_import(database: Database, seeded: SeededCasino) -> None:
    """Stage a legacy vendor's loyalty export as the loyalty manager; leave it STAGED.

    About sixty rows: some are this casino's players again (by card, or by e-mail and birth
    date), most are new; vendor tier labels, points balances, last visits recent, stale or
    missing; and a few bad rows (an impossible date, negative points, neither card nor
    e-mail, a spreadsheet formula for a name) for the error list. The file is written to a
    temporary folder and removed once staged: the batch keeps its rows, not the file.
    """
    manager = _sign_in(database, seeded, StaffRole.LOYALTY_MANAGER)
    with TemporaryFolder() as folder:
        path = folder / VENDOR_FILE
        with database.reader(Scope(seeded.casino.id)) as uow:
            today = local_date(uow.now(), seeded.spec)
            known = uow.session.execute(
                select(
                    Player.first_name,
                    Player.last_name,
                    Player.date_of_birth,
                    Player.email,
                    Player.loyalty_card_number,
                )
                .where(Player.id.in_(seeded.player_ids[:40]))
                .order_by(Player.loyalty_card_number)
            ).all()
        rows = vendor_rows(seeded.rng, today, [tuple(k) for k in known])
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write(",".join(VENDOR_HEADER) + "\r\n")
            out.writelines(",".join(_quoted(c) for c in row) + "\r\n" for row in rows)
        imports.stage_file(database.uow(manager), manager, path, VENDOR_MAPPING)


class TemporaryFolder(tempfile.TemporaryDirectory[str]):
    """A temporary directory as a Path."""

    def __enter__(self) -> Path:  # type: ignore[override]
        return Path(super().__enter__())


def vendor_rows(rng: random.Random, today: date, known: list[tuple[Any, ...]]) -> list[list[str]]:
    """The vendor export's rows: 10 known by card, 5 by e-mail + DOB, 44 new, 4 bad."""

    def day(value: date | None) -> str:
        return "" if value is None else value.strftime("%d/%m/%Y")

    def loyalty_cells() -> list[str]:
        last_visit: date | None
        roll = rng.random()
        if roll < 0.55:
            last_visit = today - timedelta(days=rng.randint(1, 120))
        elif roll < 0.85:
            last_visit = today - timedelta(days=rng.randint(400, 1500))  # stale
        else:
            last_visit = None  # unknown
        return [rng.choice(VENDOR_TIERS), str(rng.randint(0, 250) * 100), day(last_visit)]

    rows: list[list[str]] = []
    by_card = known[:10]
    by_email = [k for k in known[10:] if k[3]][:5]
    for first, last, born, _email, card in by_card:
        rows.append([card, first, last, day(born), "", "", *loyalty_cells()])
    for first, last, born, email, _card in by_email:
        rows.append(["", first, last, day(born), email, "", *loyalty_cells()])
    cards = rng.sample(range(100_000, 1_000_000), 44)
    for n, card in enumerate(cards):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        born = _date_of_birth(rng, today)
        email = f"{_ascii(first)}.{_ascii(last)}{n}@legacy-club.example.com"
        phone = f"702555{rng.randint(0, 9999):04d}" if rng.random() < 0.7 else ""
        rows.append([f"LC{card}", first, last, day(born), email, phone, *loyalty_cells()])
    rows += [
        ["LC000101", "Nadia", "Petrov", "31/02/1980", "", "", "Gold+", "900", ""],
        ["LC000102", "Tomas", "Reyes", "14/06/1972", "", "", "SILVER", "-250", day(today)],
        ["", "Walter", "Brooks", "02/09/1958", "", "7025550199", "Bronze", "0", ""],
        [
            "LC000104",
            '=HYPERLINK("http://example.com","Click")',
            "Hacker",
            "01/01/1990",
            "",
            "",
            "Black Card",
            "5000",
            "",
        ],
    ]
    rng.shuffle(rows)
    return rows


# --- an executed import with its tier-reconciliation queue (BELLA) -----------------------

RECON_FILE = "legacy-club-tiers-q3.csv"
"""The second vendor export: executed, its reconciliation queue waiting for review."""
RECON_MAPPING: dict[str, Tier | None] = {
    "Gold+": Tier.GOLD,
    "Platinum Elite": Tier.PLATINUM,
    "SILVER": Tier.SILVER,
    "Bronze": Tier.BRONZE,
    "Employee": None,
}
"""The batch's tier mapping as seeded (None: ignore). "Black Card" is left unmapped."""
RECON_UNMAPPED = "Black Card"
RECON_NEW_ACCOUNT_CARD = "BV0500001"
"""A player enrolled at the cage before the loyalty club: no loyalty record yet."""
RECON_CASES: tuple[tuple[str, Tier | None, str, int | None], ...] = (
    # (what it trains, the player's tier now (None: no loyalty record), vendor label,
    #  days since the last visit (None: unknown))
    ("upgrade", Tier.SILVER, "Gold+", 20),
    ("upgrade", Tier.BRONZE, "Platinum Elite", 35),
    ("equal tier", Tier.GOLD, "Gold+", 12),
    ("downgrade", Tier.PLATINUM, "SILVER", 8),
    ("new loyalty record", None, "Gold+", 40),
    ("stale", Tier.BRONZE, "SILVER", 400),
    ("unknown freshness", Tier.SILVER, "Platinum Elite", None),
    ("unmapped label", Tier.GOLD, RECON_UNMAPPED, 15),
    ("ignored label", Tier.BRONZE, "Employee", 5),
    ("applied (revertible)", Tier.BRONZE, "Gold+", 25),
)
"""One row per case, each for a different known player, in file order."""
RECON_APPLIED_CASE = "applied (revertible)"


def seed_executed_import(database: Database, seeded: SeededCasino) -> None:
    """A second vendor export, executed, whose reconciliation queue trains every case.

    Rows link by card to players at known tiers (one the cage enrolled without a loyalty
    record), plus a newcomer the import creates and a duplicate row for the first player
    (two open records for one person); the loyalty manager maps every label but
    ``RECON_UNMAPPED`` and applies one row, so the queue also shows a revertible change.
    """
    rng = random.Random(f"pitterm-demo-recon-{seeded.spec.code}")
    manager = _sign_in(database, seeded, StaffRole.LOYALTY_MANAGER)
    casino_id = seeded.casino.id
    with database.uow(Scope(casino_id)) as uow:
        today = local_date(uow.now(), seeded.spec)
        known = uow.session.execute(
            select(
                Player.loyalty_card_number,
                Player.first_name,
                Player.last_name,
                Player.date_of_birth,
                PlayerLoyalty.tier,
            )
            .join(PlayerLoyalty, PlayerLoyalty.player_id == Player.id)
            .where(Player.id.in_(seeded.player_ids[40:]))
            .order_by(Player.loyalty_card_number)
        ).all()
        born = _date_of_birth(rng, today)
        uow.session.execute(
            insert(Player).values(
                id=_uuid(rng),
                casino_id=casino_id,
                first_name="Maeve",
                last_name="Calloway",
                date_of_birth=born,
                loyalty_card_number=RECON_NEW_ACCOUNT_CARD,
                created_at=uow.now() - timedelta(days=900),
            )
        )
        audit.record(
            uow,
            casino_id=casino_id,
            staff_id=None,
            action="demo.player_without_loyalty_seeded",
            entity_type="casino",
            entity_id=casino_id,
            after={"card": RECON_NEW_ACCOUNT_CARD},
        )
        uow.commit()

    def day(days_ago: int | None) -> str:
        return "" if days_ago is None else (today - timedelta(days=days_ago)).strftime("%d/%m/%Y")

    used: set[str] = set()
    rows: list[list[str]] = []
    for _case, tier, label, days_ago in RECON_CASES:
        person: tuple[str, str, str, date | None]
        if tier is None:
            person = (RECON_NEW_ACCOUNT_CARD, "Maeve", "Calloway", born)
        else:
            person = next(
                (k.loyalty_card_number, k.first_name, k.last_name, k.date_of_birth)
                for k in known
                if k.tier is tier and k.loyalty_card_number not in used
            )
        card, first, last, dob = person
        used.add(card)
        birth = dob.strftime("%d/%m/%Y") if dob else ""
        points = str(rng.randint(0, 400) * 50)
        rows.append([card, first, last, birth, "", "", label, points, day(days_ago)])
    newcomer = ["LC777001", "Ines", "Okafor", "12/03/1986", "ines.okafor@legacy-club.example.com"]
    rows.append([*newcomer, "", "SILVER", "1500", day(30)])
    rows.append([*rows[0][:6], "Bronze", "0", day(60)])  # the first player again, lower
    with TemporaryFolder() as folder:
        path = folder / RECON_FILE
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write(",".join(VENDOR_HEADER) + "\r\n")
            out.writelines(",".join(_quoted(c) for c in row) + "\r\n" for row in rows)
        batch = imports.stage_file(database.uow(manager), manager, path, VENDOR_MAPPING).batch
    imports.execute_batch(database.uow(manager), manager, batch.id)
    for label, target in RECON_MAPPING.items():
        reconciliation.set_tier_mapping(
            database.uow(manager),
            manager,
            reconciliation.SetTierMapping(
                batch_id=batch.id, vendor_label=label, tier=target, ignore=target is None
            ),
        )
    applied_row = 1 + [case for case, *_ in RECON_CASES].index(RECON_APPLIED_CASE)
    reconciliation.apply(
        database.uow(manager),
        manager,
        reconciliation.ApplyReconciliation(
            batch_id=batch.id, row_number=applied_row, idempotency_key=_uuid(rng)
        ),
    )


def _quoted(cell: str) -> str:
    if any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
