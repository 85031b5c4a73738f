"""Service layer vs bare psycopg doing the same database work, in the same run (issue 9).

Both sides connect as the application role, under row-level security, so the baseline pays
the same tenancy cost the service does; what the ratio measures is pitterm's own overhead:
SQLAlchemy, validation, the application's logic.

"The same database work" is read literally. A comp through the service looks up its request
key, locks the balance, appends the entry, moves the balance, and writes the audit row and
the stored outcome in the same transaction (the audit trail is a regulatory requirement, the
outcome what makes a retried request safe); the baseline (``bookkeeping=True``) is bare SQL
issuing those same statements, one by one, with payloads of the same shape and no logic.
Issue 9 first spelled the bare comp as "lock balance row, insert ledger entry, update
balance, commit" — the ledger part alone. That transaction is still run, interleaved in the
same loop, and its ratio is printed beside the target figure as ``ledger_only_p50`` (and
``ledger_only_p99``, or ``ledger_only`` for throughput), so neither reading is hidden. The
close-slip baseline is built the same way.
"""

from __future__ import annotations

import itertools
import multiprocessing
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench.harness import (
    BenchPostgres,
    Figure,
    bench_casino,
    figure,
    interleaved_timings_ms,
    p99,
    paired_timings_ms,
    timings_ms,
)
from pitterm.domain import auth, loyalty, players, slips, visits
from pitterm.domain.actor import Actor
from pitterm.domain.clock import OffsetClock
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import VisitKind
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
        built = bench_casino(owner, "BENCH", "Bench", [(f"T{i}", "P") for i in range(40)], 7)
        admin, self.tables = built.admin, built.table_ids
        self.clock = OffsetClock()
        self.db = pg.app(pool_size=40, max_overflow=10)
        self.db.clock = self.clock
        self.boss: Actor = auth.sign_in(
            self.db.uow(Scope(built.casino_id)), auth.parse_credentials("PB", "2000")
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
        self.scope = (str(built.casino_id), str(self.boss.staff_id), self.boss.role.value)
        owner.dispose()


FIND_OUTCOME = (
    "SELECT operation, request_hash, result FROM idempotency_record"
    " WHERE casino_id = %s AND idempotency_key = %s"
)
LOCK_BALANCE = (
    "SELECT current_balance FROM player_loyalty WHERE player_id = %s AND casino_id = %s FOR UPDATE"
)
MOVE_BALANCE = (
    "UPDATE player_loyalty SET current_balance = %s, updated_at = now() WHERE"
    " player_id = %s AND casino_id = %s"
)
INSERT_AUDIT = (
    "INSERT INTO audit_log (id, casino_id, staff_id, action, entity_type, entity_id, before,"
    " after, correlation_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
)
INSERT_OUTCOME = (
    "INSERT INTO idempotency_record (id, casino_id, idempotency_key, operation, request_hash,"
    " result, staff_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now())"
)
REQUEST_HASH = "0" * 64
"""The stored fingerprint: a constant (computing one is application logic)."""


def bare_redeem(
    conn: psycopg.Connection, world: World, player: uuid.UUID, *, bookkeeping: bool = True
) -> None:
    _bare_redeem(conn, world.scope, player, bookkeeping=bookkeeping)


def _bare_redeem(
    conn: psycopg.Connection,
    scope: tuple[str, str, str],
    player: uuid.UUID,
    *,
    bookkeeping: bool = True,
) -> None:
    """A comp of 10 points as bare SQL; ``bookkeeping`` adds what the service also writes
    (see the module docstring): the key lookup, the audit row and the stored outcome."""
    casino, staff, _role = scope
    key, entry = uuid.uuid4(), uuid.uuid4()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SET_SCOPE, scope)
        if bookkeeping:
            cur.execute(FIND_OUTCOME, (casino, key))
            cur.fetchone()
        cur.execute(LOCK_BALANCE, (player, casino))
        (balance,) = cur.fetchone() or (0,)
        if not bookkeeping:  # exactly the transaction issue 9 first spelled out
            cur.execute(
                "INSERT INTO loyalty_ledger (id, casino_id, player_id, staff_id, points_delta,"
                " reason, idempotency_key, metadata, note, created_at) VALUES (%s, %s, %s, %s,"
                " -10, 'redeem', %s, '{}', 'bench', now())",
                (entry, casino, player, staff, key),
            )
            cur.execute(MOVE_BALANCE, (balance - 10, player, casino))
            return
        metadata = {
            "redemption": {"reward_id": None, "comp_type": None, "category": None},
            "balance_before": balance,
            "balance_after": balance - 10,
            "overdraw": None,
        }
        cur.execute(
            "INSERT INTO loyalty_ledger (id, casino_id, player_id, staff_id, points_delta,"
            " reason, idempotency_key, source_kind, metadata, note, created_at) VALUES (%s, %s,"
            " %s, %s, -10, 'redeem', %s, 'manual', %s, 'bench', now())",
            (entry, casino, player, staff, key, Jsonb(metadata)),
        )
        cur.execute(MOVE_BALANCE, (balance - 10, player, casino))
        cur.execute(
            INSERT_AUDIT,
            (
                uuid.uuid4(),
                casino,
                staff,
                "loyalty.redeem",
                "loyalty_ledger",
                str(entry),
                Jsonb({"balance": balance}),
                Jsonb({"balance": balance - 10, "points_delta": -10}),
                uuid.uuid4(),
            ),
        )
        outcome = {
            "ledger_id": str(entry),
            "points_delta": -10,
            "balance_before": balance,
            "balance_after": balance - 10,
            "overdraw_applied": False,
            "approved_by_staff_id": None,
            "comp_name": None,
            "is_existing": False,
        }
        cur.execute(
            INSERT_OUTCOME,
            (uuid.uuid4(), casino, key, "loyalty.redeem", REQUEST_HASH, Jsonb(outcome), staff),
        )


def service_redeem(world: World, player: uuid.UUID) -> None:
    _service_redeem(world.db, world.boss, player)


def _service_redeem(database: Database, actor: Actor, player: uuid.UUID) -> None:
    loyalty.redeem(
        database.uow(actor),
        actor,
        loyalty.Redeem(player_id=player, points=10, note="bench", idempotency_key=uuid.uuid4()),
    )


def with_ledger_only(result: Figure, ledger_only: list[float]) -> Figure:
    """Add the ratios to the ledger-only bare transaction (see the module docstring)."""
    result.extra["ledger_only_p50"] = result.median / statistics.median(ledger_only)
    result.extra["ledger_only_p99"] = result.p99 / p99(ledger_only)
    return result


def bench_redeem(world: World) -> Figure:
    player = world.player_ids[0]
    with psycopg.connect(world.dsn) as conn:
        service, bare, ledger_only = interleaved_timings_ms(
            [
                lambda: service_redeem(world, player),
                lambda: bare_redeem(conn, world, player),
                lambda: bare_redeem(conn, world, player, bookkeeping=False),
            ],
            RUNS,
        )
    result = figure("redeem (comp)", service, bare, "p50 ≤ 2.0, p99 ≤ 3.0")
    return with_ledger_only(result, ledger_only)


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
    ledger_only: list[float] = []
    with psycopg.connect(world.dsn) as conn:
        # In turn, like interleaved_timings_ms, with a fresh slip per close.
        sides: list[tuple[Callable[[uuid.UUID], None], list[float]]] = [
            (service_close, service),
            (partial(bare_close, conn, world), bare),
            (partial(bare_close, conn, world, bookkeeping=False), ledger_only),
        ]
        for i in range(runs + 5):
            for close, samples in sides[i % 3 :] + sides[: i % 3]:
                slip = open_slip()
                started = time.perf_counter()
                close(slip)
                if i >= 5:  # the first few warm the caches
                    samples.append((time.perf_counter() - started) * 1000)
                close_visit_after(slip)
    result = figure("close slip with accrual", service, bare, "p50 ≤ 2.0, p99 ≤ 3.0")
    return with_ledger_only(result, ledger_only)


def bare_close(
    conn: psycopg.Connection, world: World, slip: uuid.UUID, *, bookkeeping: bool = True
) -> None:
    """Lock the slip (with its visit), read its pauses, close it, mint and move the balance.

    ``bookkeeping`` adds what the service also does (see the module docstring): the request
    key lookup, the check for a base accrual already minted (the service's lock reads it in
    the same statement), the audit row and the stored outcome.
    """
    casino, staff, _role = world.scope
    key, entry = uuid.uuid4(), uuid.uuid4()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SET_SCOPE, world.scope)
        if bookkeeping:
            cur.execute(FIND_OUTCOME, (casino, key))
            cur.fetchone()
            cur.execute(
                "SELECT s.visit_id, s.average_bet_cents, s.started_at, s.policy_snapshot,"
                " v.player_id, v.gaming_day, e.id FROM rating_slip s"
                " JOIN visit v ON v.id = s.visit_id AND v.casino_id = s.casino_id"
                " LEFT JOIN loyalty_ledger e ON e.casino_id = s.casino_id"
                " AND e.source_kind = 'rating_slip' AND e.source_id = s.id"
                " AND e.reason = 'base_accrual'"
                " WHERE s.casino_id = %s AND s.id = %s FOR UPDATE OF s",
                (casino, slip),
            )
            visit_id, _bet, _started, _snapshot, player, _day, _minted = cur.fetchone()  # type: ignore[misc]
        else:
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
            "UPDATE rating_slip SET status = 'closed', closed_at = now(), closed_by = %s,"
            " played_seconds = 1800, theo = 52.5, points = 525 WHERE id = %s",
            (staff if bookkeeping else None, slip),
        )
        cur.execute(LOCK_BALANCE, (player, casino))
        (balance,) = cur.fetchone() or (0,)
        metadata = _ACCRUAL_METADATA if bookkeeping else {}
        cur.execute(
            "INSERT INTO loyalty_ledger (id, casino_id, player_id, rating_slip_id, visit_id,"
            " staff_id, points_delta, reason, idempotency_key, source_kind, source_id, metadata,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, 525, 'base_accrual', %s,"
            " 'rating_slip', %s, %s, now())",
            (entry, casino, player, slip, visit_id, staff, key, slip, Jsonb(metadata)),
        )
        cur.execute(MOVE_BALANCE, (balance + 525, player, casino))
        if not bookkeeping:
            return
        cur.execute(
            INSERT_AUDIT,
            (
                uuid.uuid4(),
                casino,
                staff,
                "slip.closed",
                "rating_slip",
                str(slip),
                Jsonb({"status": "open"}),
                Jsonb(
                    {
                        "status": "closed",
                        "played_seconds": 1800,
                        "theo": "52.5",
                        "points": 525,
                        "minted": True,
                    }
                ),
                uuid.uuid4(),
            ),
        )
        outcome = {
            **_CLOSED_OUTCOME,
            "slip_id": str(slip),
            "visit_id": str(visit_id),
            "ledger_entry_id": str(entry),
            "balance_after": balance + 525,
        }
        cur.execute(
            INSERT_OUTCOME,
            (uuid.uuid4(), casino, key, "slip.close", REQUEST_HASH, Jsonb(outcome), staff),
        )


_ACCRUAL_METADATA: dict[str, Any] = {
    "source": {
        "kind": "rating_slip",
        "id": "00000000-0000-0000-0000-000000000000",
        "casino_id": "00000000-0000-0000-0000-000000000000",
        "gaming_day": "2026-11-22",
        "table_id": "00000000-0000-0000-0000-000000000000",
        "seat": 1,
    },
    "calc": {
        "average_bet": "100",
        "average_bet_cents": 10_000,
        "started_at": "2026-11-22T10:00:00+00:00",
        "closed_at": "2026-11-22T10:30:00+00:00",
        "paused_seconds": 0,
        "played_seconds": 1800,
        "duration_minutes": "30",
        "house_edge_pct": "1.5",
        "decisions_per_hour": 70,
        "conversion_rate": "10",
        "theo": "52.50",
        "theo_exact": "52.5",
        "base_points": 525,
        "rounding": "floor",
    },
    "policy": {"snapshot_ref": "rating_slip.policy_snapshot", "version": "v1"},
}
"""A base accrual's explanation, the shape ``slips.accrual_metadata`` writes."""
_CLOSED_OUTCOME: dict[str, Any] = {
    "visit_kind": "gaming_identified_rated",
    "started_at": "2026-11-22T10:00:00Z",
    "closed_at": "2026-11-22T10:30:00Z",
    "paused_seconds": 0,
    "played_seconds": 1800,
    "average_bet_cents": 10_000,
    "snapshot": {
        "house_edge": "1.5",
        "decisions_per_hour": 70,
        "points_conversion_rate": "10",
        "rounding": "floor",
        "policy_version": "v1",
    },
    "theo": "52.5",
    "points": 525,
    "minted": True,
    "not_minted_reason": None,
    "is_existing": False,
}
"""A close's stored outcome, the shape ``slips.ClosedSlip`` dumps (ids filled per close)."""


def bench_concurrency(
    world: World, terminals: int = 32, seconds: float = 3.0, rounds: int = 2
) -> Figure:
    """Throughput of 32 terminals issuing comps on 32 players, service vs bare.

    Each terminal is its own process, as in a pit: 32 threads of one Python process would
    measure that process's interpreter lock (every service call is Python, the bare loop is
    almost all driver), not what 32 terminals ask of the database. The sides take turns for
    ``rounds`` rounds each, so load from elsewhere on a shared machine falls on all of them;
    the ledger-only bare transaction (see the module docstring) runs as a third side.
    """
    kinds = ("bare", "service", "ledger")
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    for n in range(rounds):
        for kind in kinds[n % 3 :] + kinds[: n % 3]:
            rates[kind].append(_terminals(kind, world, terminals, seconds))
    service, bare, ledger_only = (statistics.mean(rates[k]) for k in ("service", "bare", "ledger"))
    result = Figure(
        f"{terminals} terminals issuing comps",
        "ops/s",
        service,
        service,
        baseline_median=bare,
        baseline_p99=bare,
        target="throughput ratio ≥ 0.5",
    )
    result.extra["ledger_only"] = service / ledger_only
    result.extra["service_slowest_round"] = min(rates["service"])
    result.extra["bare_slowest_round"] = min(rates["bare"])
    result.extra["ledger_only_slowest_round"] = min(rates["ledger"])
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
    if plan.kind in ("bare", "ledger"):
        bookkeeping = plan.kind == "bare"
        with psycopg.connect(plan.dsn) as conn:
            for _ in range(5):
                _bare_redeem(conn, plan.scope, player, bookkeeping=bookkeeping)
            ready.wait()
            while not stop.is_set():
                _bare_redeem(conn, plan.scope, player, bookkeeping=bookkeeping)
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
