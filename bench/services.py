"""Service layer vs bare psycopg doing the same database work, in the same run (issue 9).

Both sides connect as the application role, under row-level security, so the baseline pays
the same tenancy cost the service does; what the ratio measures is pitterm's own overhead
(ORM, validation, idempotency and audit bookkeeping).
"""

from __future__ import annotations

import itertools
import multiprocessing
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import psycopg

from bench.harness import BenchPostgres, Figure, figure, paired_timings_ms, timings_ms
from pitterm.domain import auth, casinos, loyalty, players, slips, visits
from pitterm.domain.actor import Actor
from pitterm.domain.clock import OffsetClock
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import GameType, StaffRole, VisitKind
from pitterm.domain.tables import RatingSlip

RUNS = 400
SET_SCOPE = (
    "SELECT set_config('app.casino_id', %s, true), set_config('app.staff_id', %s, true),"
    " set_config('app.role', %s, true)"
)


class World:
    """One casino with a pit boss, a table, and players with balances."""

    def __init__(self, pg: BenchPostgres, players_count: int = 64) -> None:
        owner = pg.owner()
        casino = casinos.create_casino(owner.uow(), casinos.NewCasino(code="BENCH", name="Bench"))
        casinos.bootstrap_admin(
            owner.uow(),
            casino.id,
            casinos.NewStaff(code="ADM", name="Admin", role=StaffRole.ADMIN, pin="1000"),
        )
        admin = auth.sign_in(owner.uow(Scope(casino.id)), auth.parse_credentials("ADM", "1000"))
        casinos.add_staff(
            owner.uow(admin),
            admin,
            casinos.NewStaff(code="PB", name="Boss", role=StaffRole.PIT_BOSS, pin="2000"),
        )
        game = casinos.add_game(
            owner.uow(admin),
            admin,
            casinos.NewGame(
                name="BJ",
                game_type=GameType.BLACKJACK,
                house_edge=1.5,
                decisions_per_hour=70,
                points_conversion_rate=10,
                min_bet_cents=1000,
                max_bet_cents=500_000,
            ),
        )
        self.tables = [
            casinos.add_table(
                owner.uow(admin),
                admin,
                casinos.NewTable(label=f"T{i}", pit="P", game_settings_id=game, seats=7),
            )
            for i in range(40)
        ]
        self.clock = OffsetClock()
        self.db = pg.app(pool_size=40, max_overflow=10)
        self.db.clock = self.clock
        self.boss: Actor = auth.sign_in(
            self.db.uow(Scope(casino.id)), auth.parse_credentials("PB", "2000")
        )
        self.admin = admin
        self.player_ids = [
            players.enrol(
                self.db.uow(self.boss),
                self.boss,
                players.NewPlayer(
                    first_name=f"P{i}",
                    last_name="Bench",
                    date_of_birth=date(1980, 1, 1),
                    idempotency_key=uuid.uuid4(),
                ),
            ).player_id
            for i in range(players_count)
        ]
        for pid in self.player_ids:
            loyalty.manual_credit(
                self.db.uow(admin),
                admin,
                loyalty.ManualCredit(
                    player_id=pid,
                    points=10_000_000,
                    note="bench float",
                    idempotency_key=uuid.uuid4(),
                ),
            )
        self.dsn = pg.libpq_dsn(BenchPostgres.APP_LOGIN)
        self.url = pg.url(BenchPostgres.APP_LOGIN)
        self.scope = (str(casino.id), str(self.boss.staff_id), self.boss.role.value)
        owner.dispose()


def bare_redeem(conn: psycopg.Connection, world: World, player: uuid.UUID) -> None:
    _bare_redeem(conn, world.scope, player)


def _bare_redeem(conn: psycopg.Connection, scope: tuple[str, str, str], player: uuid.UUID) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SET_SCOPE, scope)
        cur.execute(
            "SELECT current_balance FROM player_loyalty WHERE player_id = %s AND"
            " casino_id = %s FOR UPDATE",
            (player, scope[0]),
        )
        (balance,) = cur.fetchone() or (0,)
        cur.execute(
            "INSERT INTO loyalty_ledger (id, casino_id, player_id, staff_id, points_delta, reason,"
            " idempotency_key, metadata, note, created_at) VALUES (%s, %s, %s, %s, -10, 'redeem',"
            " %s, '{}', 'bench', now())",
            (uuid.uuid4(), scope[0], player, scope[1], uuid.uuid4()),
        )
        cur.execute(
            "UPDATE player_loyalty SET current_balance = %s, updated_at = now() WHERE"
            " player_id = %s AND casino_id = %s",
            (balance - 10, player, scope[0]),
        )


def service_redeem(world: World, player: uuid.UUID) -> None:
    _service_redeem(world.db, world.boss, player)


def _service_redeem(database: Database, actor: Actor, player: uuid.UUID) -> None:
    loyalty.redeem(
        database.uow(actor),
        actor,
        loyalty.Redeem(player_id=player, points=10, note="bench", idempotency_key=uuid.uuid4()),
    )


def bench_redeem(world: World) -> Figure:
    player = world.player_ids[0]
    with psycopg.connect(world.dsn) as conn:
        service, bare = paired_timings_ms(
            lambda: service_redeem(world, player), lambda: bare_redeem(conn, world, player), RUNS
        )
    return figure("redeem (comp)", service, bare, "p50 ≤ 2.0, p99 ≤ 3.0")


def bench_balance(world: World) -> Figure:
    player = world.player_ids[1]

    def bare_read(conn: psycopg.Connection) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(SET_SCOPE, world.scope)
            cur.execute(
                "SELECT current_balance, tier FROM player_loyalty WHERE player_id = %s"
                " AND casino_id = %s",
                (player, world.scope[0]),
            )
            cur.fetchone()

    with psycopg.connect(world.dsn) as conn:
        service, bare = paired_timings_ms(
            lambda: loyalty.balance(world.db.reader(world.boss), world.boss, player),
            lambda: bare_read(conn),
            RUNS,
        )
    return figure("balance read", service, bare, "p50 ≤ 3.0")


def bench_close_slip(world: World) -> Figure:
    """Close a slip with accrual; each run opens a fresh slip first (untimed)."""
    boss, db = world.boss, world.db
    pool = iter(world.player_ids[2:])
    table_seats = iter([(t, s) for t in world.tables for s in range(1, 8)])

    def open_slip() -> uuid.UUID:
        player = next(pool_cycle)
        visit = visits.open_visit(
            db.uow(boss),
            boss,
            visits.OpenVisit(
                kind=VisitKind.GAMING_IDENTIFIED_RATED,
                player_id=player,
                idempotency_key=uuid.uuid4(),
            ),
        ).visit_id
        table, seat = next(seat_cycle)
        slip = slips.start_slip(
            db.uow(boss),
            boss,
            slips.StartSlip(
                visit_id=visit,
                table_id=table,
                seat=seat,
                average_bet_cents=10_000,
                idempotency_key=uuid.uuid4(),
            ),
        ).slip_id
        world.clock.advance(timedelta(minutes=30))
        return slip

    def close_visit_after(slip: uuid.UUID) -> None:
        with db.reader(boss) as uow:
            visit = uow.session.get_one(RatingSlip, slip).visit_id
        visits.close_visit(
            db.uow(boss), boss, visits.VisitCommand(visit_id=visit, idempotency_key=uuid.uuid4())
        )

    pool_cycle = itertools.cycle(list(pool))
    seat_cycle = itertools.cycle(list(table_seats))
    runs = RUNS // 4

    def service_close(slip: uuid.UUID) -> None:
        slips.close_slip(
            db.uow(boss), boss, slips.SlipCommand(slip_id=slip, idempotency_key=uuid.uuid4())
        )

    service: list[float] = []
    bare: list[float] = []
    with psycopg.connect(world.dsn) as conn:
        # Alternating, like paired_timings_ms, with a fresh slip per close.
        for i in range(runs + 5):
            order = ((service_close, service), (partial(bare_close, conn, world), bare))
            for close, samples in order if i % 2 else order[::-1]:
                slip = open_slip()
                started = time.perf_counter()
                close(slip)
                if i >= 5:  # the first few warm the caches
                    samples.append((time.perf_counter() - started) * 1000)
                close_visit_after(slip)
    return figure("close slip with accrual", service, bare, "p50 ≤ 2.0, p99 ≤ 3.0")


def bare_close(conn: psycopg.Connection, world: World, slip: uuid.UUID) -> None:
    """Lock the slip, read its pauses and visit, close it, mint and move the balance."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SET_SCOPE, world.scope)
        cur.execute(
            "SELECT s.visit_id, s.average_bet_cents, s.started_at, s.policy_snapshot,"
            " v.player_id FROM rating_slip s JOIN visit v ON v.id = s.visit_id"
            " WHERE s.id = %s FOR UPDATE OF s",
            (slip,),
        )
        visit_id, _bet, _started, _snapshot, player = cur.fetchone()  # type: ignore[misc]
        cur.execute(
            "SELECT paused_at, resumed_at FROM rating_slip_pause WHERE slip_id = %s", (slip,)
        )
        cur.fetchall()
        cur.execute(
            "UPDATE rating_slip SET status = 'closed', closed_at = now(),"
            " played_seconds = 1800, theo = 52.5, points = 525 WHERE id = %s",
            (slip,),
        )
        cur.execute(
            "SELECT current_balance FROM player_loyalty WHERE player_id = %s AND"
            " casino_id = %s FOR UPDATE",
            (player, world.scope[0]),
        )
        (balance,) = cur.fetchone() or (0,)
        cur.execute(
            "INSERT INTO loyalty_ledger (id, casino_id, player_id, rating_slip_id, visit_id,"
            " staff_id, points_delta, reason, idempotency_key, source_kind, source_id, metadata,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, 525, 'base_accrual', %s,"
            " 'rating_slip', %s, '{}', now())",
            (
                uuid.uuid4(),
                world.scope[0],
                player,
                slip,
                visit_id,
                world.scope[1],
                uuid.uuid4(),
                slip,
            ),
        )
        cur.execute(
            "UPDATE player_loyalty SET current_balance = %s, updated_at = now() WHERE"
            " player_id = %s AND casino_id = %s",
            (balance + 525, player, world.scope[0]),
        )


def bench_concurrency(
    world: World, terminals: int = 32, seconds: float = 3.0, rounds: int = 2
) -> Figure:
    """Throughput of 32 terminals issuing comps on 32 players, service vs bare.

    Each terminal is its own process, as in a pit: 32 threads of one Python process would
    measure that process's interpreter lock (every service call is Python, the bare loop is
    almost all driver), not what 32 terminals ask of the database. The sides alternate for
    ``rounds`` rounds each, so load from elsewhere on a shared machine falls on both.
    """
    bare: list[float] = []
    service: list[float] = []
    for _ in range(rounds):
        bare.append(_terminals("bare", world, terminals, seconds))
        service.append(_terminals("service", world, terminals, seconds))
    result = Figure(
        f"{terminals} terminals issuing comps",
        "ops/s",
        statistics.mean(service),
        statistics.mean(service),
        baseline_median=statistics.mean(bare),
        baseline_p99=statistics.mean(bare),
        target="throughput ratio ≥ 0.5",
    )
    result.extra["service_slowest_round"] = min(service)
    result.extra["bare_slowest_round"] = min(bare)
    return result


def _terminals(kind: str, world: World, terminals: int, seconds: float) -> float:
    """Comps per second of ``terminals`` processes of ``kind`` over ``seconds``."""
    context = multiprocessing.get_context("spawn")
    counts = context.Array("q", terminals, lock=False)
    ready = context.Barrier(terminals + 1)
    stop = context.Event()
    plan = Terminal(
        kind=kind,
        url=world.url,
        dsn=world.dsn,
        actor=world.boss,
        scope=world.scope,
    )
    processes = [
        context.Process(target=_terminal, args=(plan, world.player_ids[i], i, counts, ready, stop))
        for i in range(terminals)
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=120)  # every terminal connected and warmed up
    before: int = sum(counts)
    time.sleep(seconds)
    after: int = sum(counts)
    stop.set()
    for process in processes:
        process.join(timeout=60)
    return (after - before) / seconds


@dataclass(frozen=True)
class Terminal:
    """What a terminal process needs (picklable)."""

    kind: str
    url: str
    dsn: str
    actor: Actor
    scope: tuple[str, str, str]


def _terminal(
    plan: Terminal,
    player: uuid.UUID,
    index: int,
    counts: Any,
    ready: Any,
    stop: Any,
) -> None:
    if plan.kind == "bare":
        with psycopg.connect(plan.dsn) as conn:
            for _ in range(5):
                _bare_redeem(conn, plan.scope, player)
            ready.wait()
            while not stop.is_set():
                _bare_redeem(conn, plan.scope, player)
                counts[index] += 1
        return
    database = Database.from_url(plan.url, pool_size=1, max_overflow=0)
    try:
        for _ in range(5):
            _service_redeem(database, plan.actor, player)
        ready.wait()
        while not stop.is_set():
            _service_redeem(database, plan.actor, player)
            counts[index] += 1
    finally:
        database.dispose()


def bench_history(pg: BenchPostgres, world: World, entries: int = 1_000_000) -> list[Figure]:
    """Ledger history pages (50 rows, keyset) with a million entries for the casino."""
    owner = pg.owner()
    with owner.raw() as conn:
        conn.exec_driver_sql(
            "INSERT INTO loyalty_ledger (id, casino_id, player_id, staff_id, points_delta, reason,"
            " metadata, note, created_at)"
            " SELECT gen_random_uuid(), %(casino)s::uuid, p.id, %(staff)s::uuid, 1, 'adjustment',"
            " '{}'::jsonb, 'bulk', now() - (g || ' seconds')::interval"
            " FROM generate_series(1, %(n)s) g"
            " JOIN LATERAL (SELECT id FROM player WHERE casino_id = %(casino)s::uuid"
            "   ORDER BY id OFFSET (g %% 64) LIMIT 1) p ON true",
            {"casino": world.scope[0], "staff": world.scope[1], "n": entries},
        )
        conn.exec_driver_sql("ANALYZE loyalty_ledger")
        conn.commit()
    owner.dispose()
    boss = world.boss
    first = timings_ms(lambda: loyalty.history(world.db.reader(boss), boss), 200)
    # Walk deep: the 2,000th page, then measure there.
    deep = loyalty.history(world.db.reader(boss), boss)
    for _ in range(2000):
        deep = loyalty.history(world.db.reader(boss), boss, cursor=deep.next_cursor)
    cursor = deep.next_cursor
    deep_samples = timings_ms(
        lambda: loyalty.history(world.db.reader(boss), boss, cursor=cursor), 200
    )
    a = figure("ledger history page (first)", first, target="p50 ≤ 5 ms")
    b = figure("ledger history page (2,000th)", deep_samples, target="no slower than first")
    b.extra["vs_first"] = statistics.median(deep_samples) / statistics.median(first)
    return [a, b]
