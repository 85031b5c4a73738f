"""Player CSV import: staging a generated file on Postgres against a bare COPY of that file.

    .venv/bin/python bench/import_bench.py [--rows N] [--memory-rows N ...] [--breakdown]

Generates a player file (~75 bytes a row), then, on one Postgres (PITTERM_BENCH_DATABASE_URL's
server, else an embedded one):

* baseline: ``COPY … FROM STDIN (FORMAT csv, HEADER)`` of the file into a plain all-text table,
  as the owner, in one transaction;
* import: ``imports.stage_file`` as the application role (row-level security on), which also
  hashes and decodes the whole file, normalises and validates every row, and commits in
  chunks with the batch's counts.

Peak memory is measured by staging files of each ``--memory-rows`` size in a fresh child
process (ru_maxrss, and the growth over the child's footprint before staging began): flat
means the 1M-row import needs no more memory than the 100k one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.harness import BenchPostgres, Figure, bench_postgres, report  # noqa: E402

HEADER = "first_name,last_name,dob,email,card,tier,points,last_activity\n"
FIRST = ["Rita", "Ray", "Ada", "Lena", "Omar", "Mei", "José", "Zoë", "Ivan", "Aisha", "Tom", "Li"]
LAST = ["Hayworth", "Harryhausen", "Lovelace", "Horne", "Sharif", "Nguyen", "O'Brien", "Kim"]
DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com"]
TIERS = ["Bronze", "Silver", "Gold", "Platinum", "Diamond", "Gold+"]
MAPPING = {
    "columns": {
        "first_name": "first_name",
        "last_name": "last_name",
        "dob": "date_of_birth",
        "email": "email",
        "card": "loyalty_card_number",
        "tier": "imported_tier",
        "points": "imported_points_balance",
        "last_activity": "imported_last_activity_at",
    },
    "date_formats": ["%Y-%m-%d"],
}


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A deterministic player file; about 1 row in 200 carries a deliberate error."""
    rng = random.Random(seed)
    epoch = date(1940, 1, 1)
    recent = date(2026, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(1, rows + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            born = epoch + timedelta(days=rng.randrange(60 * 365))
            seen = recent + timedelta(days=rng.randrange(300))
            email = f"{first[0].lower()}{n}@{rng.choice(DOMAINS)}"
            points = rng.randrange(100_000)
            if n % 200 == 0:
                points = -points or -1
            out.write(
                f"{first},{last},{born.isoformat()},{email},C-{n:09d},"
                f"{rng.choice(TIERS)},{points},{seen.isoformat()}\n"
            )


def copy_baseline(pg: BenchPostgres, path: Path) -> float:
    owner = pg.owner()
    try:
        with owner.raw() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_copy"))
            conn.execute(
                text(
                    "CREATE TABLE bench_copy (first_name text, last_name text, dob text,"
                    " email text, card text, tier text, points text, last_activity text)"
                )
            )
            conn.commit()
            raw = conn.connection.driver_connection
            assert raw is not None
            started = time.perf_counter()
            with (
                raw.cursor() as cursor,
                cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
                path.open("rb") as handle,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            raw.commit()
            elapsed = time.perf_counter() - started
            conn.execute(text("DROP TABLE bench_copy"))
            conn.commit()
        return elapsed
    finally:
        owner.dispose()


def stage(url: str, casino_code: str, staff_code: str, pin: str, path: Path) -> dict[str, float]:
    """Stage ``path`` as the signed-in staff member; time, rows and memory of this process."""
    from pitterm.domain import imports
    from pitterm.domain.auth import find_casino, parse_credentials, sign_in
    from pitterm.domain.database import Database, Scope

    database = Database.from_url(url)
    try:
        casino = find_casino(database.uow(), casino_code)
        actor = sign_in(database.uow(Scope(casino.id)), parse_credentials(staff_code, pin))
        before = _status_mb("VmRSS")
        _reset_peak()  # the peak so far is start-up's (imports, the PIN's scrypt), not staging's
        started = time.perf_counter()
        result = imports.stage_file(database.uow(actor), actor, path, MAPPING)
        elapsed = time.perf_counter() - started
        peak = _status_mb("VmHWM")
    finally:
        database.dispose()
    return {
        "seconds": elapsed,
        "rows": result.batch.row_count,
        "errors": result.batch.error_count,
        "rss_before_mb": before,
        "rss_peak_mb": peak,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _reset_peak() -> None:
    """Linux: restart this process's peak-RSS (VmHWM) count from its current RSS."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_mb(field: str) -> float:
    """A /proc/self/status memory figure in MB; ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_casino(pg: BenchPostgres, code: str) -> tuple[str, str]:
    """A casino with a loyalty manager; returns (staff code, PIN)."""
    from pitterm.domain.casinos import NewCasino, NewStaff, add_staff, bootstrap_admin
    from pitterm.domain.casinos import create_casino as create
    from pitterm.domain.enums import StaffRole
    from tests.factories import signed_in

    owner = pg.owner()
    try:
        casino = create(owner.uow(), NewCasino(code=code, name=f"{code} Casino"))
        bootstrap_admin(
            owner.uow(),
            casino.id,
            NewStaff(code="ADM1", name="Ada Admin", role=StaffRole.ADMIN, pin="1000"),
        )
        admin = signed_in(owner, casino, "ADM1", "1000")
        add_staff(
            owner.uow(admin),
            admin,
            NewStaff(code="LM1", name="Lou Loyalty", role=StaffRole.LOYALTY_MANAGER, pin="5000"),
        )
    finally:
        owner.dispose()
    return "LM1", "5000"


def child_stage(pg: BenchPostgres, code: str, path: Path) -> dict[str, float]:
    staff, pin = setup_casino(pg, code)
    done = subprocess.run(
        [sys.executable, __file__, "--child", pg.url(pg.APP_LOGIN), code, staff, pin, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def breakdown(pg: BenchPostgres, path: Path, copy_s: float) -> list[str]:
    """Where staging's time goes, each part alone: Python (read, check and normalise every
    chunk, no database) and the database (the same chunks, built beforehand, written as the
    application role with nothing else to wait for). Each part's time against ``copy_s``."""
    from zoneinfo import ZoneInfo

    from pitterm.domain import imports
    from pitterm.domain.auth import find_casino, parse_credentials, sign_in
    from pitterm.domain.database import Database, Scope
    from pitterm.domain.import_columns import ChunkStager
    from pitterm.domain.import_file import CsvStream, scan_file
    from pitterm.domain.import_rows import RowRules, parse_mapping

    staff, pin = setup_casino(pg, "PARTS")
    database = Database.from_url(pg.url(pg.APP_LOGIN))
    try:
        casino = find_casino(database.uow(), "PARTS")
        actor = sign_in(database.uow(Scope(casino.id)), parse_credentials(staff, pin))
        # A batch with its first chunk staged (then stopped): the others go in below.
        first = imports.stage_file(
            database.uow(actor), actor, path, MAPPING, should_stop=lambda: True
        )
        batch_id, done = first.batch.id, first.batch.row_count
        mapping = parse_mapping(MAPPING)

        def chunks() -> Iterator[imports._Chunk]:
            scan_file(path)
            with CsvStream(path, "utf-8", ",") as stream:
                rules = RowRules(
                    mapping, stream.header, time_zone=ZoneInfo("UTC"), now=database.clock.now()
                )
                stager = ChunkStager(rules)
                for chunk in stream.chunks(imports.STAGE_CHUNK):
                    rest = imports._after_row(chunk, done)
                    if rest is not None:
                        yield imports._staged_rows(batch_id, actor.casino_id, rules, stager, rest)

        wall, cpu = time.perf_counter(), time.process_time()
        count = sum(1 for _ in chunks())
        python_wall, python_cpu = time.perf_counter() - wall, time.process_time() - cpu
        built = list(chunks())
        uow, expected = database.uow(actor), done
        wall = time.perf_counter()
        for chunk in built:
            expected = imports._commit_chunk(uow, actor, batch_id, expected, chunk)[0]
        database_s = time.perf_counter() - wall
    finally:
        database.dispose()
    return [
        f"breakdown ({count} chunks after the first): Python alone {python_wall:.2f} s"
        f" ({python_cpu:.2f} s CPU) = {python_wall / copy_s:.1f}x COPY;"
        f" database alone {database_s:.2f} s = {database_s / copy_s:.1f}x COPY",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--memory-rows",
        type=int,
        nargs="*",
        default=None,
        help="file sizes whose peak memory to compare (default: 100k and --rows)",
    )
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each (median kept)")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time the Python work and the database work of staging, each alone",
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, code, staff, pin, file_name = args.child
        print(json.dumps(stage(url, code, staff, pin, Path(file_name))))
        return 0

    sizes = sorted(set(args.memory_rows or [min(100_000, args.rows), args.rows]))
    workdir = Path(tempfile.mkdtemp(prefix="pitterm-import-bench-"))
    files: dict[int, Path] = {}
    for rows in {*sizes, args.rows}:
        files[rows] = workdir / f"players-{rows}.csv"
        generate(files[rows], rows)
    main_file = files[args.rows]
    size_mb = main_file.stat().st_size / 1e6
    print(f"{args.rows:,} rows, {size_mb:,.1f} MB: {main_file}")

    figures: list[Figure] = []
    with bench_postgres() as pg:
        copies, imports_ = [], []
        for run in range(args.runs):
            copies.append(copy_baseline(pg, main_file))
            staged = child_stage(pg, f"RUN{run}", main_file)
            imports_.append(staged["seconds"])
            print(
                f"run {run + 1}: COPY {copies[-1]:.2f} s, import {staged['seconds']:.2f} s"
                f" ({staged['rows']:,.0f} rows, {staged['errors']:,.0f} with errors,"
                f" {staged['rows'] / staged['seconds']:,.0f} rows/s)"
            )
        copy_s, import_s = sorted(copies)[len(copies) // 2], sorted(imports_)[len(imports_) // 2]
        if args.breakdown:
            for line in breakdown(pg, main_file, copy_s):
                print(line)
        figures.append(
            Figure(
                name=f"import.stage {args.rows:,} rows",
                unit="s",
                median=import_s,
                p99=max(imports_),
                baseline_median=copy_s,
                baseline_p99=max(copies),
                target="<= 4x COPY",
                extra={"rows_per_s": args.rows / import_s, "mb": size_mb},
            )
        )
        memory: dict[int, dict[str, float]] = {}
        for rows in sizes:
            memory[rows] = child_stage(pg, f"MEM{rows}", files[rows])
            m = memory[rows]
            print(
                f"memory at {rows:>9,} rows: peak RSS while staging {m['rss_peak_mb']:6.1f} MB"
                f" (before staging {m['rss_before_mb']:6.1f} MB,"
                f" growth {m['rss_peak_mb'] - m['rss_before_mb']:5.1f} MB;"
                f" process lifetime peak {m['maxrss_mb']:6.1f} MB)"
            )
            figures.append(
                Figure(
                    name=f"import.peak_rss {rows:,} rows",
                    unit="MB",
                    median=m["rss_peak_mb"],
                    p99=m["rss_peak_mb"],
                    target="<= 150 MB, flat",
                    extra={"growth_mb": m["rss_peak_mb"] - m["rss_before_mb"]},
                )
            )
    print()
    for fig in figures:
        print(fig.line())
    print(f"results: {report(figures)}")
    for path in files.values():
        path.unlink(missing_ok=True)
    workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
