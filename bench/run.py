"""`make bench`: every benchmark, one line each, and a JSON record under bench/results/."""

from __future__ import annotations

import argparse
import sys

from bench import services
from bench.harness import Figure, bench_postgres, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ledger-entries", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller ledger")
    args = parser.parse_args(argv)
    if args.quick:
        services.RUNS = 100
        args.ledger_entries = 100_000
    figures: list[Figure] = []
    with bench_postgres() as pg:
        world = services.World(pg)
        for bench in (
            services.bench_redeem,
            services.bench_balance,
            services.bench_close_slip,
            services.bench_concurrency,
        ):
            result = bench(world)
            print(result.line(), flush=True)
            figures.append(result)
        for result in services.bench_history(pg, world, args.ledger_entries):
            print(result.line(), flush=True)
            figures.append(result)
        world.db.dispose()
    print(f"results: {report(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
