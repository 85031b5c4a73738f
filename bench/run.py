"""`make bench`: every benchmark, one line each, and a JSON record under bench/results/."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bench import screens, services
from bench.harness import BenchPostgres, Figure, bench_postgres, report

BENCHES = ("redeem", "balance", "close", "concurrency", "history", "floor", "startup")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ledger-entries", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller ledger")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHES,
        help="run just this benchmark (repeatable); default: all",
    )
    args = parser.parse_args(argv)
    if args.quick:
        services.RUNS = 100
        args.ledger_entries = 100_000
    wanted = set(args.only or BENCHES)
    figures: list[Figure] = []

    def emit(results: list[Figure]) -> None:
        for result in results:
            print(result.line(), flush=True)
            figures.append(result)

    with bench_postgres() as pg:
        world = services.World(pg)
        steps: dict[str, Callable[[BenchPostgres, services.World], list[Figure]]] = {
            "redeem": lambda _pg, w: [services.bench_redeem(w)],
            "balance": lambda _pg, w: [services.bench_balance(w)],
            "close": lambda _pg, w: [services.bench_close_slip(w)],
            "concurrency": lambda _pg, w: [services.bench_concurrency(w)],
            "history": lambda pg, w: services.bench_history(pg, w, args.ledger_entries),
            "floor": lambda pg, _w: screens.bench_floor(pg),
            "startup": lambda _pg, _w: [screens.bench_cold_start()],
        }
        for name in BENCHES:
            if name in wanted:
                emit(steps[name](pg, world))
        world.db.dispose()
    print(f"results: {report(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
