"""Engines and the unit of work: the one place a transaction begins and ends.

Services own their transaction (``with db.uow(actor) as uow: ...; uow.commit()``). The unit
of work scopes everything to the actor's casino: on Postgres by transaction-local settings
that row-level-security policies read, on SQLite (which has no RLS) by adding the casino
criterion to every ORM query and refusing to flush rows of another casino. The few hot paths
that use Core statements instead (``uow.execute``) name the casino in every statement.

Round trips are what a terminal waits for, so the unit of work spends few: no pool
pre-ping (a dead pooled connection is noticed by the first statement, which is retried), the
scope settings in one statement, and write-once rows (audit, stored outcomes) sent together
with the commit.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    Engine,
    Executable,
    Insert,
    Table,
    bindparam,
    create_engine,
    event,
    exc,
    insert,
)
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.base import ExecutableOption

from pitterm.domain.actor import Actor
from pitterm.domain.clock import Clock, SystemClock
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import Base, CasinoScoped

SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for pitterm's transaction discipline on either backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        _configure_postgres(engine)
    return engine


def _configure_postgres(engine: Engine) -> None:
    """Units of work begin their transactions themselves (BEGIN + scope in one round trip).

    Their connections run with the driver in autocommit, so the driver sends no BEGIN of its
    own (that would be a round trip before the scope settings); this listener opens every
    transaction such a connection starts, including one begun by a statement after a
    commit. Connections without the option (migrations, ``Database.raw``) are untouched.
    """
    if event.contains(engine, "begin", _begin_postgres):
        return
    event.listen(engine, "begin", _begin_postgres)


def _begin_postgres(conn: Connection) -> None:
    begin = conn.get_execution_options().get(_BEGIN)
    if begin is not None:
        conn.exec_driver_sql(begin)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself, so writers can take the lock
        # up front (BEGIN IMMEDIATE) instead of failing on upgrade from a read lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@dataclass(frozen=True)
class Scope:
    """What the transaction is scoped to: a casino, and who acts (if anyone is signed in)."""

    casino_id: uuid.UUID
    staff_id: uuid.UUID | None = None
    role: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        return cls(actor.casino_id, actor.staff_id, actor.role.value)


_BEGIN = "pitterm_begin"
"""Execution option of a unit of work's Postgres connection: the SQL that begins each of its
transactions (see ``_configure_postgres``)."""


@lru_cache(maxsize=256)
def _begin_scoped(scope: Scope | None, *, read_only: bool = False) -> str:
    """BEGIN and the scope settings as one simple-protocol query: a single round trip.

    A reader's transaction is READ ONLY, so ending it with COMMIT (see ``__exit__``) is
    exactly what ending it with ROLLBACK would be.

    The values are rendered into the text (the simple protocol has no parameters), so they
    are checked to be what they claim: UUIDs and a role name.
    """
    casino = str(uuid.UUID(str(scope.casino_id))) if scope else ""
    staff = str(uuid.UUID(str(scope.staff_id))) if scope and scope.staff_id else ""
    role = (scope.role or "") if scope else ""
    if not re.fullmatch(r"[a-z_]*", role):
        raise ValueError(f"not a role name: {role!r}")
    return (
        f"BEGIN{' READ ONLY' if read_only else ''};"
        f" SELECT set_config('app.casino_id', '{casino}', true),"
        f" set_config('app.staff_id', '{staff}', true), set_config('app.role', '{role}', true)"
    )


@dataclass
class UnitOfWork:
    """One transaction, scoped to one casino. Rolls back unless ``commit()`` was called.

    Two ways to talk to the database inside it. ``session`` is an ORM session (made on first
    use) whose every SELECT/UPDATE/DELETE gets the casino criterion on every scoped class.
    ``execute`` runs a Core statement on the same connection, for the hot paths where the
    ORM's cost shows: such a statement is not rewritten, so it must filter ``casino_id``
    itself (on Postgres, row-level security still confines it to the casino).
    """

    engine: Engine
    scope: Scope | None
    clock: Clock = field(default_factory=SystemClock)
    write: bool = True
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    _session: Session | None = field(default=None, init=False, repr=False)
    _connection: Connection | None = field(default=None, init=False, repr=False)
    _appended: list[tuple[Table, dict[str, Any]]] = field(
        default_factory=list, init=False, repr=False
    )

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._connection

    @property
    def session(self) -> Session:
        if self._session is None:
            session = _ScopedSession(
                bind=self.connection,
                expire_on_commit=False,
                autoflush=True,
                join_transaction_mode="control_fully",
            )
            if self.scope is not None:
                session.info[_CASINO] = self.scope.casino_id
            self._session = session
        return self._session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def now(self) -> datetime:
        return self.clock.now()

    def execute(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        """Run a Core statement (which filters casino_id itself) after pending ORM changes."""
        if self._session is not None:
            self._session.flush()
        return self.connection.execute(statement, parameters)

    def append(self, entity: type[Base], values: dict[str, Any]) -> None:
        """Queue an INSERT of a write-once row (audit, stored outcome), sent with the commit.

        Nothing in the transaction reads such rows back, so they travel together: on
        Postgres as one statement just before COMMIT. A row of another casino is refused
        here, as the session refuses to flush one.
        """
        table = table_of(entity)
        if (
            self.scope is not None
            and issubclass(entity, CasinoScoped)
            and values.get("casino_id") != self.scope.casino_id
        ):
            raise _mismatch(entity.__name__)
        self._appended.append((table, values))

    def synchronize(self, entity: type[Base], key: object, **values: object) -> None:
        """Tell an ORM copy of a row (if this session holds one) what a Core UPDATE wrote."""
        if self._session is None:
            return
        found = self._session.identity_map.get(identity_key(entity, key))
        if found is not None:
            for name, value in values.items():
                set_committed_value(found, name, value)

    def __enter__(self) -> Self:
        self._appended.clear()
        # No pre-ping: the first statement (which writes nothing) is retried once on a
        # fresh connection when the pooled one turns out dead, e.g. after a server restart.
        for attempt in range(2):
            conn = self._connect()
            try:
                conn.begin()  # Postgres: BEGIN and the scope settings, see _configure_postgres
            except exc.DBAPIError as error:
                conn.close()
                if attempt == 0 and error.connection_invalidated:
                    continue
                if isinstance(error, exc.OperationalError | exc.InterfaceError):
                    raise _unavailable(error) from error
                raise
            self._connection = conn
            break
        return self

    def _connect(self) -> Connection:
        try:
            conn = self.engine.connect()
        except exc.OperationalError as error:
            raise _unavailable(error) from error
        if self.dialect == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE" if self.write else "DEFERRED")
        elif self.dialect == "postgresql":
            # The driver sends no BEGIN of its own: each transaction of this connection is
            # begun by _configure_postgres's listener, with the scope, in one round trip.
            conn = conn.execution_options(
                isolation_level="AUTOCOMMIT",
                **{_BEGIN: _begin_scoped(self.scope, read_only=not self.write)},
            )
        return conn

    def commit(self) -> None:
        try:
            if self._session is not None:
                self._session.flush()
            if self.dialect == "postgresql" and self._appended:
                self._send_appended_and_commit()
            else:
                self._send_appended()
            if self._session is not None:
                self._session.commit()
            if self.connection.in_transaction():
                self.connection.commit()  # (on Postgres after the pipeline: nothing to send)
        except exc.OperationalError as error:
            raise _unavailable(error) from error

    def _send_appended_and_commit(self) -> None:
        """Postgres: the queued rows and the COMMIT in one round trip (a driver pipeline).

        Nothing needs the INSERT's result before the COMMIT. A failure of either surfaces
        here as the SQLAlchemy error it would have been, with nothing written.
        """
        from psycopg import Connection as PsycopgConnection
        from psycopg import Error as PsycopgError

        driver = self.connection.connection.driver_connection
        assert isinstance(driver, PsycopgConnection)
        try:
            with driver.pipeline():
                self._send_appended()
                driver.execute("COMMIT")
        except PsycopgError as error:
            raise exc.DBAPIError.instance(
                "COMMIT", None, error, PsycopgError, dialect=self.engine.dialect
            ) from error

    def rollback(self) -> None:
        self._appended.clear()
        if self._session is not None:
            self._session.rollback()
        if self.connection.in_transaction():
            self.connection.rollback()

    def _send_appended(self) -> None:
        rows, self._appended = self._appended, []
        if not rows:
            return
        if self.dialect == "postgresql" and len(rows) > 1:
            # One round trip: every row but the last as a data-modifying CTE of the last.
            shape = tuple((table, tuple(values)) for table, values in rows)
            parameters = {
                f"w{n}_{name}": value
                for n, (_table, values) in enumerate(rows)
                for name, value in values.items()
            }
            self.connection.execute(_combined_insert(shape), parameters)
            return
        for table, values in rows:
            self.connection.execute(insert(table), values)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._appended.clear()
        if exc_type is None and not self.write and self.dialect == "postgresql":
            # End a reader's read-only transaction with COMMIT: the driver (psycopg) forgets
            # its prepared statements on every ROLLBACK, so readers ending that way would
            # make the server parse and plan each of their statements afresh, every time.
            self.commit()
        try:
            if self._session is not None:
                self._session.close()
        finally:
            if self._connection is not None:
                self._connection.close()  # rolls back whatever was not committed
            self._session = None
            self._connection = None
        if isinstance(exc_value, exc.OperationalError | exc.InterfaceError) and not isinstance(
            exc_value, DomainError
        ):
            raise _unavailable(exc_value) from exc_value


@lru_cache(maxsize=128)
def _combined_insert(shape: tuple[tuple[Table, tuple[str, ...]], ...]) -> Insert:
    """INSERTs of these tables and columns as one statement, built once per shape.

    Parameters are named ``w<n>_<column>`` after the row's place in ``shape``.
    """

    def single(n: int, table: Table, names: tuple[str, ...]) -> Insert:
        return insert(table).values(
            {name: bindparam(f"w{n}_{name}", type_=table.c[name].type) for name in names}
        )

    *first, (table, names) = shape
    statement = single(len(first), table, names)
    for n, (cte_table, cte_names) in enumerate(first):
        statement = statement.add_cte(single(n, cte_table, cte_names).cte(f"w{n}"))
    return statement


def table_of(entity: type[Base]) -> Table:
    """The Core table of a mapped class, for ``UnitOfWork.execute`` statements."""
    table = entity.__table__
    assert isinstance(table, Table)
    return table


def _unavailable(error: Exception) -> DomainError:
    return DomainError(
        ErrorCode.DATABASE_UNAVAILABLE,
        "The database did not answer; nothing was changed. Try again.",
        cause=type(error).__name__,
    )


def _mismatch(entity: str) -> DomainError:
    return DomainError(
        ErrorCode.CASINO_MISMATCH, "That record belongs to another casino.", entity=entity
    )


_CASINO = "pitterm_casino_id"
"""Key in ``Session.info`` of the casino a scoped session is confined to."""


class _ScopedSession(Session):
    """A unit of work's session: confined to ``info[_CASINO]`` when that is set."""


@event.listens_for(_ScopedSession, "do_orm_execute")
def _add_casino_criteria(state: ORMExecuteState) -> None:
    casino_id = state.session.info.get(_CASINO)
    if casino_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(*_casino_criteria(casino_id))


@event.listens_for(_ScopedSession, "before_flush")
def _refuse_foreign_rows(session: Session, _context: object, _instances: object) -> None:
    casino_id = session.info.get(_CASINO)
    if casino_id is None:
        return
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, CasinoScoped) and obj.casino_id != casino_id:
            raise _mismatch(type(obj).__name__)


@lru_cache(maxsize=64)
def _casino_criteria(casino_id: uuid.UUID) -> tuple[ExecutableOption, ...]:
    """The criteria options of one casino, built once: every scoped class, not only the
    statement's top-level entities, since a table that appears only in a subquery, an
    EXISTS or select_from() must be filtered too."""
    return tuple(
        with_loader_criteria(cls, lambda c: c.casino_id == casino_id, include_aliases=True)
        for cls in _scoped_classes()
    )


@cache
def _scoped_classes() -> tuple[type[CasinoScoped], ...]:
    return tuple(m.class_ for m in Base.registry.mappers if issubclass(m.class_, CasinoScoped))


class Database:
    """The composition root's handle on one database: an engine and units of work on it."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        if engine.dialect.name == "postgresql":
            _configure_postgres(engine)
        self.engine = engine
        self.clock: Clock = clock or SystemClock()

    @classmethod
    def from_url(cls, url: str, clock: Clock | None = None, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs), clock)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    def uow(self, actor: Actor | Scope | None = None, *, write: bool = True) -> UnitOfWork:
        scope = Scope.of(actor) if isinstance(actor, Actor) else actor
        return UnitOfWork(self.engine, scope, self.clock, write=write)

    def reader(self, actor: Actor | Scope | None = None) -> UnitOfWork:
        return self.uow(actor, write=False)

    @contextmanager
    def raw(self) -> Iterator[Connection]:
        """A plain connection for migrations and tests; services never use this."""
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
