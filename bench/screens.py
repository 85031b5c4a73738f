"""The terminal's own figures: the floor screen's refresh with 200 open slips (a Pilot run)
and cold start (process start to the sign-in screen's first frame).

The floor screen redraws on two clocks: every second the running slips' time played, theo
and points tick locally (no database), and every ten seconds (and after each job) the floor
is read again and the three lists refilled. Both are timed here from the call to the frame
the terminal would show, on the same embedded Postgres as the service benchmarks.

The frame is drawn on cue (``_frame``): the screen handles the messages the call caused and
composes its frame, as ``Pilot.pause()`` ends. ``Pilot.pause()`` itself is not timed: it also
sleeps in 20 ms steps until the process looks idle (Textual's ``wait_for_idle``), a sleep
that follows any frame, so a tick timed through it took some 38 ms with 3 slips on the floor.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness import BenchPostgres, Figure, bench_casino, figure
from pitterm.config import Settings
from pitterm.domain import auth, players, slips, visits
from pitterm.domain.clock import OffsetClock
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import VisitKind

if TYPE_CHECKING:
    from pitterm.app import PitApp

FLOOR_CASINO = "FLOOR"
OPEN_SLIPS = 200
SEATS = 7


def floor_casino(pg: BenchPostgres, slips_open: int = OPEN_SLIPS) -> Database:
    """A second casino with ``slips_open`` rated slips in play, built through the services."""
    owner = pg.owner()
    count = -(-slips_open // SEATS)
    built = bench_casino(
        owner, FLOOR_CASINO, "Floor bench", [(f"T{i:02}", f"P{i % 4}") for i in range(count)], SEATS
    )
    tables = built.table_ids
    owner.dispose()
    database = pg.app(pool_size=8)
    database.clock = OffsetClock()
    boss = auth.sign_in(database.uow(Scope(built.casino_id)), auth.parse_credentials("PB", "2000"))
    for n in range(slips_open):
        player = players.enrol(
            database.uow(boss),
            boss,
            players.NewPlayer(
                first_name=f"Floor{n}",
                last_name="Bench",
                date_of_birth=date(1980, 1, 1),
                idempotency_key=uuid.uuid4(),
            ),
        ).player_id
        visit = visits.open_visit(
            database.uow(boss),
            boss,
            visits.OpenVisit(
                kind=VisitKind.GAMING_IDENTIFIED_RATED,
                player_id=player,
                idempotency_key=uuid.uuid4(),
            ),
        ).visit_id
        slips.start_slip(
            database.uow(boss),
            boss,
            slips.StartSlip(
                visit_id=visit,
                table_id=tables[n // SEATS],
                seat=n % SEATS + 1,
                average_bet_cents=10_000 + 500 * (n % 40),
                idempotency_key=uuid.uuid4(),
            ),
        )
    return database


def bench_floor(pg: BenchPostgres, ticks: int = 100, reads: int = 30) -> list[Figure]:
    """Per tick and per refresh of the floor screen, 200 slips in play (Textual Pilot)."""
    database = floor_casino(pg)
    try:
        collections = _FullCollections()
        with collections:
            tick, tick_cpu, refresh, refresh_cpu, rows = asyncio.run(
                _drive_floor(database, ticks, reads, collections)
            )
    finally:
        database.dispose()
    if rows != OPEN_SLIPS:
        raise RuntimeError(f"the floor showed {rows} live slips, expected {OPEN_SLIPS}")
    figures = [
        figure(f"floor tick ({OPEN_SLIPS} open slips)", tick, target="≤ 30 ms"),
        figure(f"floor refresh ({OPEN_SLIPS} open slips)", refresh, target="≤ 30 ms"),
    ]
    # CPU time of the terminal's process: what a busy shared machine does not inflate.
    figures[0].extra["cpu_median_ms"] = statistics.median(tick_cpu)
    figures[1].extra["cpu_median_ms"] = statistics.median(refresh_cpu)
    # Python's full collections while the samples were taken: each walks the whole heap and
    # lands in whichever sample it interrupts (the p99).
    figures[0].extra["full_gc_count"] = len(collections.pauses)
    figures[0].extra["full_gc_max_ms"] = max(collections.pauses, default=0.0)
    return figures


class _FullCollections:
    """The durations (ms) of Python's full (oldest-generation) garbage collections that
    happened while ``sampling`` was set, inside the ``with`` block."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self.sampling = False
        self._started = 0.0

    def _record(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2 or not self.sampling:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> None:
        gc.callbacks.append(self._record)

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._record)


async def _drive_floor(
    database: Database, ticks: int, reads: int, collections: _FullCollections | None = None
) -> tuple[list[float], list[float], list[float], list[float], int]:
    from pitterm.app import PitApp
    from pitterm.runtime import Runtime
    from pitterm.screens.floor import FloorScreen

    clock = database.clock
    assert isinstance(clock, OffsetClock)
    settings = Settings(casino=FLOOR_CASINO, database_url=database.url)
    app = PitApp(Runtime(settings, database, clock))
    # The screen's own timers are stretched so they cannot fire between the timed calls
    # (each timed call is one of them, made on cue).
    timers = (FloorScreen.TICK_SECONDS, FloorScreen.REFRESH_SECONDS)
    FloorScreen.TICK_SECONDS = FloorScreen.REFRESH_SECONDS = 3600.0
    try:
        return await _timed_floor(app, clock, ticks, reads, collections or _FullCollections())
    finally:
        FloorScreen.TICK_SECONDS, FloorScreen.REFRESH_SECONDS = timers


async def _timed_floor(
    app: PitApp, clock: OffsetClock, ticks: int, reads: int, collections: _FullCollections
) -> tuple[list[float], list[float], list[float], list[float], int]:
    from pitterm.screens.floor import FloorScreen

    async with app.run_test(size=(180, 60)) as pilot:
        await _settle(pilot)
        await pilot.press(*"pb", "enter", *"2000", "enter")
        await _settle(pilot)
        screen = app.screen
        if not isinstance(screen, FloorScreen):
            raise RuntimeError(f"signed in to {type(screen).__name__}, not the floor")
        for _ in range(3):  # warm: first reads fill caches, first frames size the columns
            screen.reload()
            await _settle(pilot)
        tick: list[float] = []
        tick_cpu: list[float] = []
        collections.sampling = True
        for _ in range(ticks):
            clock.advance(timedelta(seconds=1))
            started, cpu = time.perf_counter(), time.process_time()
            screen._tick()  # what the one-second interval runs
            await _frame(pilot)  # and the frame it causes
            tick.append((time.perf_counter() - started) * 1000)
            tick_cpu.append((time.process_time() - cpu) * 1000)
            await pilot.pause()  # untimed: the screen at rest before the next sample
        refresh: list[float] = []
        refresh_cpu: list[float] = []
        for _ in range(reads):
            started, cpu = time.perf_counter(), time.process_time()
            screen.reload()  # what the ten-second interval runs: read, refill, draw
            await _workers_done(pilot)
            await _frame(pilot)
            refresh.append((time.perf_counter() - started) * 1000)
            refresh_cpu.append((time.process_time() - cpu) * 1000)
            await _settle(pilot)  # untimed
        collections.sampling = False
        rows = screen.slips_grid.row_count
    return tick, tick_cpu, refresh, refresh_cpu, rows


async def _frame(pilot: object) -> None:
    """The messages pending on the screen handled, then its frame drawn (what the screen's
    update timer would draw next, at most a sixtieth of a second later)."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot._wait_for_screen()
    pilot.app.screen._on_timer_update()


async def _workers_done(pilot: object) -> None:
    """Until every worker has finished: a read's worker ends once its result is shown."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    for _ in range(1000):
        running = [worker for worker in pilot.app.workers if not worker.is_finished]
        if not running:
            return
        await running[0].wait() if running[0].is_running else await asyncio.sleep(0)
    raise RuntimeError("floor workers still running")


async def _settle(pilot: object, quiet_polls: int = 3) -> None:
    """Until no worker runs and the screen has drawn what they caused."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    quiet = 0
    for _ in range(2000):
        await pilot.pause()
        busy = any(not worker.is_finished for worker in pilot.app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet >= quiet_polls:
            return
        await asyncio.sleep(0)
    raise RuntimeError("floor workers still running")


def bench_cold_start(runs: int = 7) -> Figure:
    """`pitterm --startup-probe` on a demo database already in place (as a terminal starts)."""
    data = Path(os.environ.get("PITTERM_BENCH_DATA_DIR", "/tmp/pitterm-bench-demo"))
    env = {**os.environ, "PITTERM_DATA_DIR": str(data)}
    env.pop("PITTERM_DATABASE_URL", None)
    # An installed terminal has its modules' bytecode compiled (pip does it); a sandbox with
    # PYTHONDONTWRITEBYTECODE would compile pitterm's sources on every start instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    pitterm = [sys.executable, "-m", "pitterm"]
    if not (data / "demo.sqlite3").exists():
        subprocess.run([*pitterm, "demo"], env=env, check=True, capture_output=True)
    subprocess.run([*pitterm, "--startup-probe"], env=env, check=True, capture_output=True)
    probes: list[float] = []
    walls: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [*pitterm, "--startup-probe"], env=env, check=True, capture_output=True, text=True
        )
        walls.append(time.perf_counter() - started)
        probes.append(_probe_seconds(done.stdout))
    result = figure("terminal cold start", probes, target="median ≤ 1.0 s", unit="s")
    result.extra["wall_median_s"] = statistics.median(walls)
    return result


def _probe_seconds(output: str) -> float:
    for line in output.splitlines():
        if line.startswith("startup:"):
            return float(line.split()[1])
    raise RuntimeError(f"no startup line in the probe's output: {output[-200:]!r}")
