"""Drift audit benchmark (issue 8), on Postgres: `python -m bench.drift_bench [--accounts N]`.

- full audit vs a bare GROUP BY comparison of the same tables, same run (target ≤ 1.3×);
- incremental re-audit after 1,000 new entries (with their cached-balance updates) vs the
  full audit (target ≤ 5 %), five times, each after a fresh 1,000;
- `pitterm drift check` on a sandbox file of 10 events per account: peak RSS (target
  ≤ 300 MB at 2M events), measured in a child process.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from bench.harness import BenchPostgres, Figure, bench_postgres, report
from pitterm.domain import auth, casinos, drift
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import StaffRole

BARE = """
SELECT count(*),
       sum(CASE WHEN abs(pl.current_balance - coalesce(s.total, 0)) <= %(t)s THEN 1 ELSE 0 END),
       max(pl.current_balance - coalesce(s.total, 0)),
       min(pl.current_balance - coalesce(s.total, 0))
FROM player_loyalty pl
LEFT JOIN (SELECT player_id, sum(points_delta) AS total FROM loyalty_ledger
           WHERE casino_id = %(c)s GROUP BY player_id) s ON s.player_id = pl.player_id
WHERE pl.casino_id = %(c)s
"""

# 1,000 entries for 1,000 random accounts, each with its cached balance moved to match.
POST = """
WITH picked AS (SELECT player_id, casino_id FROM player_loyalty WHERE casino_id = %(c)s::uuid
                ORDER BY random() LIMIT %(n)s),
posted AS (INSERT INTO loyalty_ledger (id, casino_id, player_id, staff_id, points_delta, reason,
                                       metadata, created_at)
           SELECT gen_random_uuid(), casino_id, player_id, %(s)s::uuid, 5, 'adjustment',
                  '{}'::jsonb, now() FROM picked RETURNING player_id)
UPDATE player_loyalty SET current_balance = current_balance + 5
WHERE casino_id = %(c)s::uuid AND player_id IN (SELECT player_id FROM posted)
"""


def build(pg: BenchPostgres, accounts: int, per_account: int) -> tuple[Database, object, str]:
    owner = pg.owner()
    casino = casinos.create_casino(owner.uow(), casinos.NewCasino(code="DRIFT", name="Drift"))
    casinos.bootstrap_admin(
        owner.uow(),
        casino.id,
        casinos.NewStaff(code="ADM", name="Admin", role=StaffRole.ADMIN, pin="1000"),
    )
    admin = auth.sign_in(owner.uow(Scope(casino.id)), auth.parse_credentials("ADM", "1000"))
    with owner.raw() as conn:
        params = {"c": str(casino.id), "s": str(admin.staff_id), "n": accounts, "k": per_account}
        conn.exec_driver_sql(
            "INSERT INTO player (id, casino_id, first_name, last_name, created_at)"
            " SELECT gen_random_uuid(), %(c)s::uuid, 'P' || g, 'Bench', now()"
            " FROM generate_series(1, %(n)s) g",
            params,
        )
        conn.exec_driver_sql(
            "INSERT INTO loyalty_ledger (id, casino_id, player_id, staff_id, points_delta,"
            " reason, metadata, created_at)"
            " SELECT gen_random_uuid(), %(c)s::uuid, p.id, %(s)s::uuid,"
            " (random() * 200)::int - 50, 'adjustment', '{}'::jsonb,"
            " now() - interval '30 days' + (k || ' minutes')::interval"
            " FROM player p, generate_series(1, %(k)s) k WHERE p.casino_id = %(c)s::uuid",
            params,
        )
        conn.exec_driver_sql(
            "INSERT INTO player_loyalty (player_id, casino_id, current_balance, updated_at)"
            " SELECT player_id, casino_id, sum(points_delta), now() FROM loyalty_ledger"
            " WHERE casino_id = %(c)s::uuid GROUP BY player_id, casino_id",
            params,
        )
        # Drift on 1 % of accounts.
        conn.exec_driver_sql(
            "UPDATE player_loyalty SET current_balance = current_balance + 7"
            " WHERE casino_id = %(c)s::uuid AND random() < 0.01",
            params,
        )
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    owner.dispose()
    app = pg.app()
    app.clock = FixedClock(datetime.now(UTC))
    return app, admin, str(casino.id)


def time_it(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def file_check_rss(accounts: int, per_account: int) -> tuple[float, int]:
    """Peak RSS (MB) of `pitterm drift check` in a child process, and the file's size."""
    folder = Path(tempfile.mkdtemp(prefix="pitterm-drift-bench-"))
    ledger, balances = folder / "ledger.json", folder / "balances.json"
    rng = random.Random(7)
    with ledger.open("w") as out:
        out.write("[")
        first = True
        base = datetime(2026, 1, 1, tzinfo=UTC)
        for account in range(accounts):
            for k in range(per_account):
                event = {
                    "account_id": f"A{account:07d}",
                    "timestamp": (base + timedelta(minutes=k)).isoformat(),
                    "type": "earn",
                    "points_delta": rng.randint(-50, 150),
                    "description": "benchmark event with a plausible description",
                }
                out.write(("" if first else ",") + json.dumps(event))
                first = False
        out.write("]")
    with balances.open("w") as out:
        json.dump(
            [{"account_id": f"A{a:07d}", "snapshot_balance": 0} for a in range(accounts)], out
        )
    size = ledger.stat().st_size
    code = (
        "import resource, sys; from pitterm.cli import main;"
        f" main(['drift', 'check', '--ledger', {str(ledger)!r}, '--balances',"
        f" {str(balances)!r}, '--json']);"
        " sys.stderr.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    for path in (ledger, balances):
        path.unlink()
    folder.rmdir()
    return peak_kb / 1024, size


def incremental(
    pg: BenchPostgres, database: Database, admin: object, scope: tuple[str, str], full: float
) -> Figure:
    """Build the checkpoints, then time re-audits, each after 1,000 new entries posted the way
    the services post them (entry and cached balance together, one transaction)."""
    rebuild_s = time_it(
        lambda: drift.audit(database.uow(admin), admin, 10, checkpoint=True)  # type: ignore[arg-type]
    )
    owner_dsn = pg.libpq_dsn()

    def post_entries() -> None:
        with psycopg.connect(owner_dsn) as conn:
            conn.execute(POST, {"s": scope[1], "c": scope[0], "n": 1_000})

    # The first re-audit right after the rebuild meets the rebuild's mass deletion of the
    # build's two million change rows, not yet vacuumed: timed and shown, not the figure.
    post_entries()
    cold_s = time_it(
        lambda: drift.audit_incremental(database.uow(admin), admin, 10)  # type: ignore[arg-type]
    )
    # Steady state, as autovacuum leaves it a minute after such a mass change.
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) drift_change, drift_checkpoint")
    runs, scanned = [], []
    for _ in range(5):
        post_entries()
        started = time.perf_counter()
        done = drift.audit_incremental(database.uow(admin), admin, 10)  # type: ignore[arg-type]
        runs.append(time.perf_counter() - started)
        scanned.append(done.scanned_entries)
    full_after = drift.audit(database.reader(admin), admin, 10)  # type: ignore[arg-type]
    assert done.summary == full_after.summary, "incremental and full audits disagree"
    assert done.accounts == full_after.accounts, "incremental and full audits disagree"
    assert scanned == [1_000] * 5, scanned
    figure = Figure(
        "drift incremental (1,000 new)",
        "s",
        sorted(runs)[2],
        max(runs),
        target="≤ 5 % of full",
    )
    figure.extra["vs_full"] = figure.median / full
    figure.extra["rebuild_s"] = rebuild_s
    figure.extra["first_after_rebuild_s"] = cold_s
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--per-account", type=int, default=10)
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    with bench_postgres() as pg:
        database, admin, casino_id = build(pg, args.accounts, args.per_account)
        dsn = pg.libpq_dsn(BenchPostgres.APP_LOGIN)
        scope = (casino_id, str(admin.staff_id))  # type: ignore[attr-defined]

        def bare() -> None:
            with psycopg.connect(dsn) as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT set_config('app.casino_id', %s, true)", (scope[0],))
                cur.execute(BARE, {"t": 10, "c": scope[0]})
                cur.fetchall()

        def full() -> None:
            drift.audit(database.reader(admin), admin, 10)  # type: ignore[arg-type]

        bare_s = [time_it(bare) for _ in range(5)]
        full_s = [time_it(full) for _ in range(5)]
        figures.append(
            Figure(
                "drift full audit",
                "s",
                sorted(full_s)[2],
                max(full_s),
                sorted(bare_s)[2],
                max(bare_s),
                target="≤ 1.3× bare GROUP BY",
            )
        )
        print(figures[-1].line(), flush=True)
        figures.append(incremental(pg, database, admin, scope, sorted(full_s)[2]))
        print(figures[-1].line(), flush=True)
        database.dispose()
    started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb, size = file_check_rss(args.accounts, args.per_account)
    memory = Figure(
        "drift check file: peak RSS", "MB", peak_mb, peak_mb, target="≤ 300 MB at 2M events"
    )
    memory.extra["file_MB"] = size / 1e6
    figures.append(memory)
    print(memory.line(), flush=True)
    del started
    print(f"results: {report(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
