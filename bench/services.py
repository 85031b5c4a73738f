"""Service layer vs bare psycopg doing the same database work, in the same run (issue 9).

Both sides connect as the application role, under row-level security, so the baseline pays
the same tenancy cost the service does; what the ratio measures is pitterm's own overhead
(ORM, validation, idempotency and audit bookkeeping).
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import psycopg

from bench.harness import BenchPostgres, Figure, figure, timings_ms
from pitterm.domain import auth, casinos, loyalty, players, slips, visits
from pitterm.domain.actor import Actor
from pitterm.domain.clock import OffsetClock
from pitterm.domain.database import Scope
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
        self.scope = (str(casino.id), str(self.boss.staff_id), self.boss.role.value)
        owner.dispose()


def bare_redeem(conn: psycopg.Connection, world: World, player: uuid.UUID) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SET_SCOPE, world.scope)
        cur.execute(
            "SELECT current_balance FROM player_loyalty WHERE player_id = %s AND"
            " casino_id = %s FOR UPDATE",
            (player, world.scope[0]),
        )
        (balance,) = cur.fetchone() or (0,)
        cur.execute(
            "INSERT INTO loyalty_ledger (id, casino_id, player_id, staff_id, points_delta, reason,"
            " idempotency_key, metadata, note, created_at) VALUES (%s, %s, %s, %s, -10, 'redeem',"
            " %s, '{}', 'bench', now())",
            (uuid.uuid4(), world.scope[0], player, world.scope[1], uuid.uuid4()),
        )
        cur.execute(
            "UPDATE player_loyalty SET current_balance = %s, updated_at = now() WHERE"
            " player_id = %s AND casino_id = %s",
            (balance - 10, player, world.scope[0]),
        )


def service_redeem(world: World, player: uuid.UUID) -> None:
    loyalty.redeem(
        world.db.uow(world.boss),
        world.boss,
        loyalty.Redeem(player_id=player, points=10, note="bench", idempotency_key=uuid.uuid4()),
    )


def bench_redeem(world: World) -> Figure:
    player = world.player_ids[0]
    with psycopg.connect(world.dsn) as conn:
        bare = timings_ms(lambda: bare_redeem(conn, world, player), RUNS)
    service = timings_ms(lambda: service_redeem(world, player), RUNS)
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
        bare = timings_ms(lambda: bare_read(conn), RUNS)
    service = timings_ms(
        lambda: loyalty.balance(world.db.reader(world.boss), world.boss, player), RUNS
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

    service: list[float] = []
    for _ in range(runs):
        slip = open_slip()
        started = time.perf_counter()
        slips.close_slip(
            db.uow(boss), boss, slips.SlipCommand(slip_id=slip, idempotency_key=uuid.uuid4())
        )
        service.append((time.perf_counter() - started) * 1000)
        close_visit_after(slip)

    bare: list[float] = []
    with psycopg.connect(world.dsn) as conn:
        for _ in range(runs):
            slip = open_slip()
            started = time.perf_counter()
            bare_close(conn, world, slip)
            bare.append((time.perf_counter() - started) * 1000)
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


def bench_concurrency(world: World, terminals: int = 32, seconds: float = 4.0) -> Figure:
    """Throughput of 32 terminals issuing comps on 32 players, service vs bare."""

    def run(worker: Callable[[int, threading.Event, list[int]], None]) -> float:
        stop = threading.Event()
        counts = [0] * terminals
        threads = [
            threading.Thread(target=worker, args=(i, stop, counts)) for i in range(terminals)
        ]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        return sum(counts) / seconds

    def service_worker(i: int, stop: threading.Event, counts: list[int]) -> None:
        player = world.player_ids[i]
        while not stop.is_set():
            service_redeem(world, player)
            counts[i] += 1

    def bare_worker(i: int, stop: threading.Event, counts: list[int]) -> None:
        player = world.player_ids[i]
        with psycopg.connect(world.dsn) as conn:
            while not stop.is_set():
                bare_redeem(conn, world, player)
                counts[i] += 1

    bare = run(bare_worker)
    service = run(service_worker)
    return Figure(
        "32 terminals issuing comps",
        "ops/s",
        service,
        service,
        baseline_median=bare,
        baseline_p99=bare,
        target="throughput ratio ≥ 0.5",
    )


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
