"""Engines and the unit of work: the one place a transaction begins and ends.

Services own their transaction (``with db.uow(actor) as uow: ...; uow.commit()``). The unit
of work scopes everything to the actor's casino: on Postgres by transaction-local settings
that row-level-security policies read, on SQLite (which has no RLS) by adding the casino
criterion to every ORM query and refusing to flush rows of another casino. The few hot paths
that use Core statements instead (``uow.execute``) name the casino in every statement.

Every transaction of a unit of work that acts for a staff member begins by reading that
member's row: deactivated, locked or given another role since signing in (at another
terminal), they are refused before the transaction does anything (AUTH_SESSION_ENDED, or
AUTH_STAFF_LOCKED naming them), and the terminal signs out.

What a terminal waits for is round trips and Python, so the unit of work spends few of
either: no pool pre-ping (a dead pooled connection is noticed by the first statement, which
is retried), BEGIN and the scope settings in one query, write-once rows (audit, stored
outcomes) queued and sent as one statement just before COMMIT, and on Postgres the hot
paths' statements (``Direct``) handed to the driver without SQLAlchemy's per-execution work.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast, overload

from sqlalchemy import (
    ClauseElement,
    Dialect,
    Engine,
    Executable,
    Insert,
    Table,
    Update,
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
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.compiler import SQLCompiler

from pitterm.domain.actor import Actor
from pitterm.domain.clock import Clock, SystemClock
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.pins import locked_refusal
from pitterm.domain.tables import Base, CasinoScoped

if TYPE_CHECKING:  # psycopg is imported when a Postgres engine is made (SQLite never needs it)
    import psycopg

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
    own (that would be a round trip before the scope settings). The unit of work sends the
    first BEGIN itself; this listener sends it for a transaction SQLAlchemy begins on such a
    connection later (a statement after a commit). Connections without the option
    (migrations, ``Database.raw``) are untouched.
    """
    if event.contains(engine, "begin", _begin_postgres):
        return
    event.listen(engine, "begin", _begin_postgres)


def _begin_postgres(conn: Connection) -> None:
    begin = conn.get_execution_options().get(_BEGIN)
    if begin is None:
        return
    fairy = conn.connection
    if _idle(fairy):  # else the unit of work began it itself, and SQLAlchemy only catches up
        begin.run(conn.engine, fairy, conn.invalidate)


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
        options = conn.get_execution_options()
        conn.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")
        scope: Scope | None = options.get(_SCOPE)
        if scope is not None and scope.staff_id is not None:
            row = conn.exec_driver_sql(
                "SELECT code, active, locked, role FROM staff WHERE id = ? AND casino_id = ?",
                (scope.staff_id.hex, scope.casino_id.hex),
            ).first()
            refusal = _acting_staff_refusal(scope, row)
            if refusal is not None:
                conn.exec_driver_sql("ROLLBACK")
                raise refusal


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
"""Execution option of a unit of work's Postgres connection: the ``_Begin`` that begins each
of its transactions (see ``_configure_postgres``)."""
_SCOPE = "pitterm_scope"
"""Execution option of a unit of work's SQLite connection: its ``Scope``, whose acting staff
member each transaction checks as it begins (see ``_configure_sqlite``)."""


@dataclass(frozen=True)
class _Begin:
    """How a Postgres unit of work begins each transaction: ``sql``, one round trip."""

    sql: str
    scope: Scope | None

    def run(
        self,
        engine: Engine,
        fairy: PoolProxiedConnection,
        invalidate: Callable[[BaseException], None],
    ) -> None:
        """Begin; refuse (rolled back) if the acting staff member may no longer act."""
        _run(engine, fairy, self.sql, None, None, invalidate)
        scope = self.scope
        if scope is None or scope.staff_id is None:
            return
        cursor = fairy.info[_CURSOR]
        row = None
        while cursor.nextset():  # BEGIN, the settings, then the staff member's row
            row = cursor.fetchone()
        refusal = _acting_staff_refusal(scope, row)
        if refusal is not None:
            _run(engine, fairy, "ROLLBACK", None, None, invalidate)
            raise refusal


@lru_cache(maxsize=256)
def _begin_scoped(scope: Scope | None, *, read_only: bool = False) -> _Begin:
    """BEGIN, the scope settings and (when someone acts) the acting staff member's row as
    one simple-protocol query: a single round trip.

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
    sql = (
        f"BEGIN{' READ ONLY' if read_only else ''};"
        f" SELECT set_config('app.casino_id', '{casino}', true),"
        f" set_config('app.staff_id', '{staff}', true), set_config('app.role', '{role}', true)"
    )
    if staff:
        # Migration 0012's function: the staff row by a plan kept for the session.
        sql += f"; SELECT * FROM pitterm_acting_staff('{staff}')"
    return _Begin(sql, scope)


def _acting_staff_refusal(scope: Scope, row: Any) -> DomainError | None:
    """Why the scope's staff member may no longer act, from their staff row (code, active,
    locked, role): AUTH_STAFF_LOCKED, or AUTH_SESSION_ENDED; None if they may.

    A terminal keeps its sign-in until it signs out or idle-locks, so an admin's
    deactivation, a lockout or a role change made elsewhere is enforced here, at the start
    of every transaction the staff member's terminal begins.
    """
    if row is None:
        return _session_ended("The signed-in staff member is no longer on this casino's staff.")
    code, active, locked, role = row
    if not active:
        return _session_ended(f"Staff {code} was deactivated; this terminal is signed out.")
    if locked:
        return locked_refusal(code)
    if role != scope.role:
        return _session_ended(
            f"Staff {code}'s role changed; sign in again to work with the new role."
        )
    return None


def _session_ended(message: str) -> DomainError:
    return DomainError(ErrorCode.AUTH_SESSION_ENDED, message)


class Direct:
    """A hot-path Core statement that a Postgres unit of work hands to the driver itself.

    SQLAlchemy's execution path costs some 50 µs of Python per statement, twice the driver's
    own work; on the comp and close paths, with a handful of statements each, that was most
    of what the service spent beyond the database. A ``Direct`` statement is compiled once by
    SQLAlchemy for the engine's dialect — its SQL, each bind parameter with its type's bind
    processing, each result column with its result processing — and then run on the psycopg
    connection with nothing in between (``_Plan``). Errors are translated to SQLAlchemy's
    exceptions as its own execution would (IntegrityError, OperationalError, and a dead
    connection invalidated). On SQLite it is an ordinary Core statement.

    Only statements whose values are all bound at execution qualify: no "expanding" IN
    lists, no Python-side column defaults (every value of a DML statement is named), and
    result columns with distinct names. ``_Plan`` refuses anything else when first used.
    Being beneath SQLAlchemy, these statements raise no engine events (``echo``,
    ``before_cursor_execute``) on Postgres.
    """

    __slots__ = ("_plan", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plan: _Plan | None = None

    def plan(self, dialect: Dialect) -> _Plan:
        plan = self._plan
        if plan is None or plan.dialect is not dialect:
            plan = self._plan = _Plan(self.statement, dialect)
        return plan


@dataclass(frozen=True)
class _Bind:
    key: str
    name: str
    process: Callable[[Any], Any] | None
    required: bool
    value: Any


class _Plan:
    """A ``Direct`` statement compiled for one (Postgres) dialect."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        if not isinstance(statement, ClauseElement):
            raise TypeError(f"Direct needs a Core statement, not {type(statement).__name__}")
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if dialect.paramstyle != "pyformat" or compiled.positional:
            raise TypeError(f"Direct needs named (pyformat) parameters, not {dialect.paramstyle}")
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise TypeError("Direct statements cannot have expanding or literal parameters")
        if getattr(compiled, "insert_prefetch", ()) or getattr(compiled, "update_prefetch", ()):
            raise TypeError("Direct DML must name every value (no Python-side column defaults)")
        self.dialect = dialect
        self.sql = compiled.string
        binds: dict[str, _Bind] = {}
        for parameter, name in compiled.bind_names.items():
            binds[name] = _Bind(
                key=parameter.key,
                name=compiled.escaped_bind_names.get(name, name),
                process=parameter.type.dialect_impl(dialect).bind_processor(dialect),
                required=parameter.required,
                value=parameter.effective_value,
            )
        self.binds = tuple(binds.values())
        columns = list(getattr(statement, "exported_columns", ()))
        keys = [column.key for column in columns]
        if len(set(keys)) != len(keys) or not all(key.isidentifier() for key in keys):
            raise TypeError(f"Direct result columns need distinct names: {keys}")
        self.types = [column.type.dialect_impl(dialect) for column in columns]
        self.row: Any = namedtuple("Row", keys) if keys else None
        self.results: list[Callable[[Any], Any] | None] | None = None

    def parameters(self, given: dict[str, Any]) -> dict[str, Any]:
        """The driver's parameters: each bind by name, through its type's bind processing."""
        values: dict[str, Any] = {}
        for bind in self.binds:
            if bind.key in given:
                value = given[bind.key]
            elif bind.required:
                raise exc.ArgumentError(f"A value is required for bind parameter {bind.key!r}")
            else:
                value = bind.value
            values[bind.name] = value if bind.process is None else bind.process(value)
        return values

    def rows(self, cursor: psycopg.Cursor[Any]) -> list[Any]:
        if self.row is None:  # DML without RETURNING
            return []
        results = self.results
        if results is None:  # the driver's type codes are known after the first execution
            description = cursor.description
            if description is None or len(description) != len(self.types):
                raise TypeError("Direct: the result columns are not the statement's")
            results = self.results = [
                kind.result_processor(self.dialect, column.type_code)
                for kind, column in zip(self.types, description, strict=True)
            ]
        make = self.row._make
        if not any(results):
            return [make(row) for row in cursor.fetchall()]
        return [
            make(
                value if process is None else process(value)
                for process, value in zip(results, row, strict=True)
            )
            for row in cursor.fetchall()
        ]


class Rows:
    """What a ``Direct`` statement returned, fetched whole: rows by column name or position."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    @classmethod
    def of(cls, result: CursorResult[Any]) -> Rows:
        return cls(list(result.all()) if result.returns_rows else [], result.rowcount)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            if self._rows:
                raise exc.MultipleResultsFound("Multiple rows were found when one was required")
            raise exc.NoResultFound("No row was found when one was required")
        return self._rows[0]

    def all(self) -> list[Any]:
        return list(self._rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


def _run(
    engine: Engine,
    fairy: PoolProxiedConnection,
    sql: str,
    parameters: dict[str, Any] | None,
    plan: _Plan | None,
    invalidate: Callable[[BaseException], None],
) -> Rows:
    """Run ``sql`` on the pooled connection's psycopg connection, errors as SQLAlchemy raises
    them; a connection found dead is ``invalidate``d (by whoever holds it) so the pool drops it.
    """
    import psycopg

    driver = fairy.driver_connection
    assert driver is not None
    cursor = fairy.info.get(_CURSOR)
    if cursor is None or cursor.connection is not driver or cursor.closed:
        cursor = fairy.info[_CURSOR] = driver.cursor()
    try:
        cursor.execute(sql, parameters)
        return Rows(plan.rows(cursor) if plan is not None else [], cursor.rowcount)
    except psycopg.Error as error:
        raise _translated(engine, driver, error, invalidate, sql, parameters) from error


def _translated(
    engine: Engine,
    driver: psycopg.Connection[Any],
    error: psycopg.Error,
    invalidate: Callable[[BaseException], None],
    sql: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> BaseException:
    """The SQLAlchemy exception SQLAlchemy's own execution would raise for ``error``."""
    import psycopg

    gone = engine.dialect.is_disconnect(cast(Any, error), cast(Any, driver), None)
    if gone:
        invalidate(error)
    return exc.DBAPIError.instance(
        sql,
        parameters,
        error,
        psycopg.Error,
        hide_parameters=engine.hide_parameters,
        connection_invalidated=gone,
        dialect=engine.dialect,
    )


def _idle(fairy: PoolProxiedConnection) -> bool:
    """No transaction open on this (psycopg) connection (libpq's own flag; no round trip)."""
    driver = fairy.driver_connection
    assert driver is not None
    return bool(driver.pgconn.transaction_status == _PQ_IDLE)


def _failed(fairy: PoolProxiedConnection) -> bool:
    """The (psycopg) connection's transaction failed: it can only be rolled back."""
    driver = fairy.driver_connection
    assert driver is not None
    return bool(driver.pgconn.transaction_status == _PQ_INERROR)


_PQ_IDLE = 0
"""libpq's PQTRANS_IDLE (psycopg.pq.TransactionStatus.IDLE)."""
_PQ_INERROR = 3
"""libpq's PQTRANS_INERROR (psycopg.pq.TransactionStatus.INERROR)."""


_CURSOR = "pitterm_cursor"
"""Key in a pooled connection's ``info`` of the driver cursor its Direct statements reuse."""


@dataclass
class UnitOfWork:
    """One transaction, scoped to one casino. Rolls back unless ``commit()`` was called.

    Two ways to talk to the database inside it. ``session`` is an ORM session (made on first
    use) whose every SELECT/UPDATE/DELETE gets the casino criterion on every scoped class.
    ``execute`` runs a Core statement on the same connection, for the hot paths where the
    ORM's cost shows: such a statement is not rewritten, so it must filter ``casino_id``
    itself (on Postgres, row-level security still confines it to the casino).

    On Postgres the unit of work checks a connection out of the pool and begins the
    transaction on the driver itself (BEGIN and the scope settings in one query, the driver
    in autocommit so it sends no BEGIN of its own); SQLAlchemy's ``Connection`` is made over
    that connection only when something needs it (the session, a plain Core statement), so
    a unit of work of ``Direct`` statements alone — a comp, a balance read — spends nothing
    on it. Either way the connection goes back to the pool with no transaction open and the
    driver out of autocommit.
    """

    engine: Engine
    scope: Scope | None
    clock: Clock = field(default_factory=SystemClock)
    write: bool = True
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    _session: Session | None = field(default=None, init=False, repr=False)
    _connection: Connection | None = field(default=None, init=False, repr=False)
    _fairy: PoolProxiedConnection | None = field(default=None, init=False, repr=False)
    _begin: _Begin = field(default=_Begin("", None), init=False, repr=False)
    _appended: list[tuple[Table, dict[str, Any]]] = field(
        default_factory=list, init=False, repr=False
    )
    _closing: tuple[Update, dict[str, Any]] | None = field(default=None, init=False, repr=False)

    @property
    def connection(self) -> Connection:
        conn = self._connection
        if conn is None:
            fairy = self._fairy
            if fairy is None:
                raise RuntimeError("unit of work used outside its `with` block")
            # Postgres: SQLAlchemy's view of the connection this unit of work holds, in the
            # transaction it began (SQLAlchemy's begin then sends nothing: _begin_postgres).
            conn = Connection(self.engine, connection=fairy)
            conn = conn.execution_options(**{_BEGIN: self._begin})
            if not _idle(fairy):
                conn.begin()
            self._connection = conn
        return conn

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

    @overload
    def execute(self, statement: Direct, parameters: dict[str, Any] | None = None) -> Rows: ...
    @overload
    def execute(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> CursorResult[Any]: ...
    def execute(
        self, statement: Direct | Executable, parameters: dict[str, Any] | None = None
    ) -> Rows | CursorResult[Any]:
        """Run a Core statement (which filters casino_id itself) after pending ORM changes.

        A ``Direct`` statement returns its rows fetched (``Rows``); on Postgres it goes to
        the driver itself, in the unit of work's transaction (begun again, scoped, if a
        commit ended the last one — as SQLAlchemy begins one for any statement).
        """
        if self._session is not None:
            self._session.flush()
        if not isinstance(statement, Direct):
            return self.connection.execute(statement, parameters)
        if self._fairy is None:  # SQLite (or outside the block, which .connection refuses)
            return Rows.of(self.connection.execute(statement.statement, parameters))
        fairy, invalidate = self._holder()
        conn = self._connection
        if conn is not None:
            if not conn.in_transaction():
                conn.begin()  # BEGIN and the scope settings, see _begin_postgres
        elif _idle(fairy):
            self._begin.run(self.engine, fairy, invalidate)
        plan = statement.plan(self.engine.dialect)
        return _run(
            self.engine, fairy, plan.sql, plan.parameters(parameters or {}), plan, invalidate
        )

    def _holder(self) -> tuple[PoolProxiedConnection, Callable[[BaseException], None]]:
        """Postgres: the pooled connection, and how to invalidate it (through SQLAlchemy's
        Connection when there is one, so that it knows)."""
        conn, fairy = self._connection, self._fairy
        assert fairy is not None
        if conn is not None:
            return conn.connection, conn.invalidate
        return fairy, fairy.invalidate

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

    def append_update(self, statement: Update, parameters: dict[str, Any]) -> None:
        """Queue an UPDATE, sent with the queued rows: for a row this transaction holds
        locked and reads no more, whose new values are already known (a balance). One per
        commit; on Postgres the queued INSERTs ride in it as CTEs — one statement in all."""
        if self._closing is not None:
            raise RuntimeError("one queued UPDATE per commit")
        self._closing = (statement, parameters)

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
        self._closing = None
        if self.dialect == "postgresql":
            self._begin = _begin_scoped(self.scope, read_only=not self.write)
            self._fairy = self._checkout_and_begin()
            return self
        # No pre-ping: the first statement (which writes nothing) is retried once on a
        # fresh connection when the pooled one turns out dead.
        for attempt in range(2):
            conn = self._connect()
            try:
                conn.begin()
            except DomainError:
                conn.close()  # the acting staff member may no longer act
                raise
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

    def _checkout_and_begin(self) -> PoolProxiedConnection:
        """Postgres: a pooled connection with this unit of work's transaction begun.

        No pre-ping: BEGIN (which writes nothing) is retried once on a fresh connection when
        the pooled one turns out dead, e.g. after a server restart.
        """
        import psycopg

        for attempt in range(2):
            try:
                fairy = self.engine.raw_connection()
            except (exc.OperationalError, psycopg.OperationalError) as error:
                raise _unavailable(error) from error
            driver = fairy.driver_connection
            assert driver is not None
            try:
                try:
                    driver.autocommit = True
                except psycopg.Error as error:
                    raise _translated(self.engine, driver, error, fairy.invalidate) from error
                self._begin.run(self.engine, fairy, fairy.invalidate)
            except DomainError:
                self._release(None, fairy)  # the acting staff member may no longer act
                raise
            except exc.DBAPIError as error:
                self._release(None, fairy)
                if attempt == 0 and error.connection_invalidated:
                    continue
                if isinstance(error, exc.OperationalError | exc.InterfaceError):
                    raise _unavailable(error) from error
                raise
            return fairy
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> Connection:
        """SQLite: a connection whose transactions begin IMMEDIATE when this unit writes."""
        try:
            conn = self.engine.connect()
        except exc.OperationalError as error:
            raise _unavailable(error) from error
        return conn.execution_options(
            sqlite_begin="IMMEDIATE" if self.write else "DEFERRED", **{_SCOPE: self.scope}
        )

    def commit(self) -> None:
        try:
            if self._session is not None:
                self._session.flush()
            self._send_appended()
            if self._fairy is not None and _failed(self._holder()[0]):
                # Postgres would answer COMMIT with a silent ROLLBACK: say so instead.
                raise exc.InvalidRequestError(
                    "A statement of this transaction failed; it can only be rolled back."
                )
            if self._session is not None:
                self._session.commit()
            conn = self._connection
            if conn is not None:
                if conn.in_transaction():
                    conn.commit()
            elif self._fairy is not None and not _idle(self._fairy):
                fairy, invalidate = self._holder()
                _run(self.engine, fairy, "COMMIT", None, None, invalidate)
        except exc.OperationalError as error:
            raise _unavailable(error) from error

    def rollback(self) -> None:
        self._appended.clear()
        self._closing = None
        if self._session is not None:
            self._session.rollback()
        conn = self._connection
        if conn is not None:
            if conn.in_transaction():
                conn.rollback()
        elif self._fairy is not None and not _idle(self._fairy):
            fairy, invalidate = self._holder()
            _run(self.engine, fairy, "ROLLBACK", None, None, invalidate)

    def _send_appended(self) -> None:
        rows, self._appended = self._appended, []
        closing, self._closing = self._closing, None
        if not rows and closing is None:
            return
        if self.dialect == "postgresql":
            # One statement: every row as a data-modifying CTE of the queued UPDATE, or of
            # the last row's INSERT when there is none.
            shape = tuple((table, tuple(values)) for table, values in rows)
            parameters = {
                f"w{n}_{name}": value
                for n, (_table, values) in enumerate(rows)
                for name, value in values.items()
            }
            if closing is not None:
                parameters.update(closing[1])
            self.execute(_combined(shape, None if closing is None else closing[0]), parameters)
            return
        for table, values in rows:
            self.connection.execute(insert(table), values)
        if closing is not None:
            self.connection.execute(*closing)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._appended.clear()
        self._closing = None
        try:
            if exc_type is None and not self.write and self._fairy is not None:
                # End a reader's read-only transaction with COMMIT: the driver (psycopg)
                # forgets its prepared statements on every ROLLBACK, so readers ending that
                # way would make the server parse and plan each of their statements afresh.
                self.commit()
        finally:
            try:
                if self._session is not None:
                    self._session.close()
            finally:
                self._session = None
                conn, fairy = self._connection, self._fairy
                self._connection = self._fairy = None
                self._release(conn, fairy)
        if isinstance(exc_value, exc.OperationalError | exc.InterfaceError) and not isinstance(
            exc_value, DomainError
        ):
            raise _unavailable(exc_value) from exc_value

    def _release(self, conn: Connection | None, fairy: PoolProxiedConnection | None) -> None:
        """Give the connection back as the pool lent it: whatever was not committed rolled
        back, and (Postgres) the driver out of autocommit — other users of the pool, such as
        migrations and ``Database.raw``, rely on the driver's own transactions."""
        import psycopg

        try:
            if conn is not None and conn.in_transaction() and not conn.invalidated:
                conn.rollback()
            if fairy is not None and fairy.is_valid:
                driver = fairy.driver_connection
                assert driver is not None
                if not _idle(fairy):
                    driver.rollback()
                driver.autocommit = False
        except (exc.DBAPIError, psycopg.Error) as error:
            if conn is not None:
                conn.invalidate(error)
            elif fairy is not None:
                fairy.invalidate(error)
        finally:
            if conn is not None:
                conn.close()
            elif fairy is not None:
                fairy.close()


@lru_cache(maxsize=128)
def _combined(shape: tuple[tuple[Table, tuple[str, ...]], ...], closing: Update | None) -> Direct:
    """INSERTs of these tables and columns (and ``closing``) as one statement, built once per
    shape.

    Parameters are named ``w<n>_<column>`` after the row's place in ``shape``; ``closing``
    keeps its own names.
    """

    def single(n: int, table: Table, names: tuple[str, ...]) -> Insert:
        return insert(table).values(
            {name: bindparam(f"w{n}_{name}", type_=table.c[name].type) for name in names}
        )

    if closing is None:
        *first, (table, names) = shape
        statement: Insert | Update = single(len(first), table, names)
    else:
        first, statement = list(shape), closing
        if any(name.startswith("w") and name[1:2].isdigit() for name in closing.compile().params):
            raise ValueError("the queued UPDATE's parameter names clash with the rows'")
    for n, (cte_table, cte_names) in enumerate(first):
        statement = statement.add_cte(single(n, cte_table, cte_names).cte(f"w{n}"))
    return Direct(statement)


def table_of(entity: type[Base]) -> Table:
    """The Core table of a mapped class, for ``UnitOfWork.execute`` statements."""
    table = entity.__table__
    assert isinstance(table, Table)
    return table


def _unavailable(error: Exception) -> DomainError:
    """The refusal for a driver's operational error: most mean the database could not be
    reached; a transaction Postgres rolled back to break a deadlock (or a serialisation
    failure, SQLSTATE class 40) means another terminal was writing the same rows."""
    sqlstate = getattr(getattr(error, "orig", error), "sqlstate", None) or ""
    if sqlstate.startswith("40"):
        return DomainError(
            ErrorCode.DATABASE_CONFLICT,
            "Another terminal was changing the same records at the same moment; nothing was"
            " changed. Try again.",
            cause=type(error).__name__,
            sqlstate=sqlstate,
        )
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
