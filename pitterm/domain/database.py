"""Engines and the unit of work: the one place a transaction begins and ends.

Services own their transaction (``with db.uow(actor) as uow: ...; uow.commit()``). The unit
of work scopes everything to the actor's casino: on Postgres by transaction-local settings
that row-level-security policies read, on SQLite (which has no RLS) by adding the casino
criterion to every ORM query and refusing to flush rows of another casino.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

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
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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


@dataclass
class UnitOfWork:
    """One transaction, scoped to one casino. Rolls back unless ``commit()`` was called."""

    engine: Engine
    scope: Scope | None
    clock: Clock = field(default_factory=SystemClock)
    write: bool = True
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    _session: Session | None = field(default=None, init=False, repr=False)
    _connection: Connection | None = field(default=None, init=False, repr=False)

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def now(self) -> datetime:
        return self.clock.now()

    def __enter__(self) -> Self:
        try:
            conn = self.engine.connect()
        except exc.OperationalError as error:
            raise _unavailable(error) from error
        if self.dialect == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE" if self.write else "DEFERRED")
        self._connection = conn
        self._session = Session(bind=conn, expire_on_commit=False, autoflush=True)
        if self.scope is not None:
            _scope_session(self._session, self.scope)
            if self.dialect == "postgresql":
                self._session.execute(
                    text(
                        "SELECT set_config('app.casino_id', :casino, true),"
                        " set_config('app.staff_id', :staff, true),"
                        " set_config('app.role', :role, true)"
                    ),
                    {
                        "casino": str(self.scope.casino_id),
                        "staff": str(self.scope.staff_id or ""),
                        "role": self.scope.role or "",
                    },
                )
        return self

    def commit(self) -> None:
        try:
            self.session.commit()
        except exc.OperationalError as error:
            raise _unavailable(error) from error

    def rollback(self) -> None:
        self.session.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._session is not None:
                self._session.rollback()
                self._session.close()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._session = None
            self._connection = None
        if isinstance(exc_value, exc.OperationalError | exc.InterfaceError) and not isinstance(
            exc_value, DomainError
        ):
            raise _unavailable(exc_value) from exc_value


def _unavailable(error: Exception) -> DomainError:
    return DomainError(
        ErrorCode.DATABASE_UNAVAILABLE,
        "The database did not answer; nothing was changed. Try again.",
        cause=type(error).__name__,
    )


def _scope_session(session: Session, scope: Scope) -> None:
    casino_id = scope.casino_id

    @event.listens_for(session, "do_orm_execute")
    def _add_casino_criteria(state: ORMExecuteState) -> None:
        if not (state.is_select or state.is_update or state.is_delete):
            return
        # Every scoped class, not only the statement's top-level entities: a table that
        # appears only in a subquery, an EXISTS or select_from() must be filtered too.
        state.statement = state.statement.options(
            *(
                with_loader_criteria(cls, lambda c: c.casino_id == casino_id, include_aliases=True)
                for cls in _scoped_classes()
            )
        )

    @event.listens_for(session, "before_flush")
    def _refuse_foreign_rows(session: Session, _context: object, _instances: object) -> None:
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, CasinoScoped) and obj.casino_id != casino_id:
                raise DomainError(
                    ErrorCode.CASINO_MISMATCH,
                    "That record belongs to another casino.",
                    entity=type(obj).__name__,
                )


@cache
def _scoped_classes() -> tuple[type[CasinoScoped], ...]:
    return tuple(m.class_ for m in Base.registry.mappers if issubclass(m.class_, CasinoScoped))


class Database:
    """The composition root's handle on one database: an engine and units of work on it."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
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
