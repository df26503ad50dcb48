"""Database engines and sessions: one async engine per process, configured from settings.

SQLite (the embedded default) runs in WAL mode with real transactions (pysqlite's implicit
transaction handling is switched off so SAVEPOINTs work); PostgreSQL goes through psycopg 3,
the one driver used both by the async app and by Alembic.

PostgreSQL connections are pinged before use only when they sat in the pool for a while
(``PING_AFTER_IDLE_SECONDS``), not on every checkout as ``pool_pre_ping`` does: under load a
connection comes back within milliseconds and the ping was one round trip in every request. A
connection that broke while in use raises a disconnect error, on which SQLAlchemy invalidates every
pooled connection older than it, so a restarted server costs at most the requests already running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import psycopg.types.json
import pydantic_core
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel.ext.asyncio.session import AsyncSession

from services.read_pool import ReadPool, lost_its_server
from services.settings import get_settings

PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "dwc_checked_in_at"

_engine: AsyncEngine | None = None
_autocommit: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None
_read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
_READ_ONLY = "dwc_read_only"
_read_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReadPool] = weakref.WeakKeyDictionary()

# What a database that is down, unreachable, locked past its busy timeout or out of pooled
# connections raises: the API answers 503 for these, a page says the database is unavailable.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


def _json_loads(data: bytes | bytearray | str) -> Any:
    """What psycopg parses JSON and JSONB values with: pydantic-core's parser, a tenth of the cost of
    ``json.loads`` (the workflow list parses each row's tags), with the same results; what it refuses
    (a lone UTF-16 surrogate, which ``json.loads`` keeps) goes to ``json.loads``."""
    try:
        return pydantic_core.from_json(data)
    except ValueError:
        return json.loads(data)


psycopg.types.json.set_json_loads(_json_loads)


class ReadOnlySessionWrite(RuntimeError):
    """Code given a read session tried to write: a programming error, never the caller's."""


def sync_url(raw: str) -> URL:
    """The URL with a synchronous driver (what Alembic uses)."""
    url = make_url(raw)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite")
    return url


def async_url(raw: str) -> URL:
    """The URL with an asyncio driver (what the app uses)."""
    url = make_url(raw.replace("postgres://", "postgresql://", 1))
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    return url


class _RollbackOnCloseConnection(sqlite3.Connection):
    """A SQLite connection that ends its transaction before it closes.

    SQLAlchemy closes a connection without rolling back when it abandons it: a task cancelled in the
    middle of a statement (a page left while its event ran) invalidates its connection. sqlite3's
    ``close`` then leaves the database handle open as long as a statement of it is still referenced
    (the cancelled frames hold its cursor, and a kept traceback holds them until the garbage collector
    runs), and that handle keeps its transaction: the write lock. Every other writer waited out its
    busy timeout and failed with "database is locked" until a collection freed the cursor, a minute
    or more later.
    """

    def close(self) -> None:
        if self.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.rollback()
        super().close()


def _sqlite_connect_args(connect_args: dict[str, Any]) -> dict[str, Any]:
    return {"factory": _RollbackOnCloseConnection, **connect_args}


def _configure_sqlite(sync_engine: Any) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        # A read session's AUTOCOMMIT is undone on return by setting pysqlite's default (""), which
        # would bring back its implicit transactions: keep SQLAlchemy the one that begins them.
        if dbapi_connection is not None:
            dbapi_connection.isolation_level = None

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _ping_when_idle(sync_engine: Engine) -> None:
    """Ping a pooled connection at checkout when it was idle ``PING_AFTER_IDLE_SECONDS`` or more
    (pre-ping's recovery after a server restart, without its round trip on every busy checkout)."""
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return  # fresh from connect(), or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool reconnects, and drops every connection opened before this one broke.
                raise exc.InvalidatePoolError() from error
            raise


def _postgres_connect_args(connect_args: dict[str, Any]) -> dict[str, Any]:
    """A short connect timeout, and sessions in UTC whatever the server's default zone: timestamps
    come back in UTC (``UTCDateTime`` then has nothing to convert) and date arithmetic in SQL does
    not depend on how the server was set up."""
    return {"connect_timeout": 3, "options": "-c TimeZone=UTC", **connect_args}


def create_engine_for(raw_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``raw_url`` with the product's connection settings.

    Statement parameters stay out of error messages (``hide_parameters``): an error's text is logged,
    and its parameters may be a password hash or a provider's API key being saved.
    """
    kwargs.setdefault("hide_parameters", True)
    url = async_url(raw_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args=_sqlite_connect_args(kwargs.pop("connect_args", {})), **kwargs)
        _configure_sqlite(engine.sync_engine)
        return engine
    settings = get_settings()
    kwargs.setdefault("pool_size", settings.database_pool_size)
    kwargs.setdefault("max_overflow", settings.database_max_overflow)
    kwargs.setdefault("pool_timeout", settings.database_pool_timeout_seconds)
    kwargs.setdefault("pool_use_lifo", True)  # busy connections stay hot; the idle ones get pinged
    engine = create_async_engine(url, connect_args=_postgres_connect_args(kwargs.pop("connect_args", {})), **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine.sync_engine)
    return engine


def create_sync_engine_for(raw_url: str, **kwargs: Any) -> Engine:
    """A synchronous engine for ``raw_url`` with the same connection settings (dedicated writer threads)."""
    kwargs.setdefault("hide_parameters", True)
    url = sync_url(raw_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args=_sqlite_connect_args(kwargs.pop("connect_args", {})), **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_use_lifo", True)
    engine = create_engine(url, connect_args=_postgres_connect_args(kwargs.pop("connect_args", {})), **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def get_engine() -> AsyncEngine:
    """The process-wide engine, created on first use."""
    global _engine, _sessionmaker, _read_sessionmaker
    if _engine is None:
        _engine = create_engine_for(get_settings().resolved_database_url)
        _sessionmaker = async_sessionmaker(_engine, class_=AsyncSession, expire_on_commit=False)
        _read_sessionmaker = async_sessionmaker(_autocommit_engine(_engine), class_=AsyncSession,
                                                expire_on_commit=False, info={_READ_ONLY: True})
    return _engine


def _autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """``engine``'s connections in autocommit mode: for the process-wide PostgreSQL engine, a pool of their own.

    Read sessions and statement connections share it. Switching a pooled connection to autocommit
    at checkout and back at checkin cost about 0.1 ms of CPU, as much as the checkout itself; these
    never switch. SQLite shares the one engine (a switch there costs nothing measurable), and so does
    any other engine (a test's, a worker's own).
    """
    global _autocommit
    if engine.dialect.name != "postgresql" or engine is not _engine:
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    if _autocommit is None:
        _autocommit = create_engine_for(get_settings().resolved_database_url, isolation_level="AUTOCOMMIT")
    return _autocommit


@asynccontextmanager
async def open_session() -> AsyncIterator[AsyncSession]:
    """A session for one unit of work; the service called with it commits."""
    get_engine()
    assert _sessionmaker is not None
    async with _sessionmaker() as session:
        yield session


@asynccontextmanager
async def open_read_session() -> AsyncIterator[AsyncSession]:
    """A session for work that only reads: each statement runs on its own, outside a transaction.

    A read needs no BEGIN, COMMIT or ROLLBACK around it (three round trips fewer per request on
    PostgreSQL, and on SQLite no write lock held while reading). Under READ COMMITTED every statement
    sees its own snapshot inside a transaction too, so reads see what they saw before. Anything that
    tries to write through it raises ``ReadOnlySessionWrite``.
    """
    get_engine()
    assert _read_sessionmaker is not None
    session = _read_sessionmaker()
    try:
        yield session
    finally:
        # One that never ran a statement holds no connection and no rows, and is not closed: most API
        # reads never touch theirs (the caller's row comes from the cache, the list runs on a held
        # connection: ``reading``), and closing one (a greenlet hop and a shielded task) cost 25 µs.
        if session.in_transaction() or session.identity_map:
            await asyncio.shield(session.close())  # as AsyncSession's own exit: a cancelled request still closes it


def _read_pool(engine: AsyncEngine) -> ReadPool:
    """This event loop's held PostgreSQL connections for reads (``services.read_pool``), created on first use."""
    loop = asyncio.get_running_loop()
    pool = _read_pools.get(loop)
    if pool is None:
        settings = get_settings()
        pool = _read_pools[loop] = ReadPool(functools.partial(_connect_for_reads, engine),
                                            size=settings.database_pool_size,
                                            timeout=settings.database_pool_timeout_seconds,
                                            ping_after_idle=PING_AFTER_IDLE_SECONDS)
    return pool


async def _connect_for_reads(engine: AsyncEngine) -> psycopg.AsyncConnection:
    """A driver connection as the engine's pool would open it (same URL, adapters and options), in autocommit."""
    args, params = engine.dialect.create_connect_args(engine.url)
    return await psycopg.AsyncConnection.connect(*args, autocommit=True, **_postgres_connect_args(dict(params)))


ReadSource = psycopg.AsyncConnection | AsyncConnection
"""Where a compiled read runs: a PostgreSQL driver connection, or SQLAlchemy's connection on other databases."""


@asynccontextmanager
async def reading(session: AsyncSession) -> AsyncIterator[ReadSource]:
    """The connection a compiled read of ``session`` runs on (``services.compiled_reads``).

    A read session that holds no connection yet reads on PostgreSQL on a connection held by this
    process (``services.read_pool``), on other databases on one straight from the autocommit pool.
    Any other session (a transaction, or a test's) reads on its own connection, where it sees what
    it wrote; on PostgreSQL that is its driver connection. Either way nothing runs in SQLAlchemy's
    greenlet. The driver's errors come out as SQLAlchemy's, a lost connection's with
    ``connection_invalidated`` set, so callers and error handlers see what SQLAlchemy would raise.
    """
    if session.info.get(_READ_ONLY) and not session.in_transaction():
        engine = get_engine()
        if engine.dialect.name != "postgresql":
            async with open_read_connection() as connection:
                yield connection
            return
        held: psycopg.AsyncConnection | None = None
        try:
            async with _read_pool(engine).connection() as held:
                yield held
        except psycopg.Error as error:
            raise as_sqlalchemy_error(error, lost=lost_its_server(held)) from error
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        yield connection
        return
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    try:
        yield driver
    except psycopg.Error as error:
        lost = lost_its_server(driver)
        if lost:
            await connection.invalidate(error)
        raise as_sqlalchemy_error(error, lost=lost) from error


def as_sqlalchemy_error(error: psycopg.Error, *, lost: bool, statement: str | None = None) -> exc.StatementError:
    """The error SQLAlchemy raises for a driver's ``error`` on code that talks to psycopg directly (an
    ``OperationalError`` for a lost server, and so on), ``connection_invalidated`` when ``lost``."""
    return exc.DBAPIError.instance(statement, None, error, psycopg.Error, hide_parameters=True,
                                   connection_invalidated=lost)


@event.listens_for(Session, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionWrite("This session only reads (open_read_session); open_session() writes.")


@event.listens_for(Session, "do_orm_execute")
def _refuse_write_statements(state: ORMExecuteState) -> None:
    if state.session.info.get(_READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlySessionWrite("This session only reads (open_read_session); open_session() writes.")


@asynccontextmanager
async def open_statement_connection() -> AsyncIterator[AsyncConnection]:
    """A Core connection for work whose every write is a single statement (hot paths: no ORM objects).

    On PostgreSQL each statement commits by itself, so a unit of work that is one statement costs
    one round trip instead of BEGIN, the statement and COMMIT. SQLite cannot put writes of several
    tables in one statement: there the block is one transaction, committed when it ends without error.
    """
    engine = get_engine()
    if engine.dialect.name == "sqlite":
        async with engine.begin() as connection:
            yield connection
        return
    async with _autocommit_engine(engine).connect() as connection:
        yield connection


@asynccontextmanager
async def open_read_connection(engine: AsyncEngine | None = None) -> AsyncIterator[AsyncConnection]:
    """A Core connection for statements that only read, each on its own (autocommit), of ``engine``
    (the process-wide one by default, whose autocommit pool it takes from).

    ``engine.connect()`` begins a transaction at the first statement, and on SQLite every transaction
    is ``BEGIN IMMEDIATE``: a health check's ``SELECT 1`` took the write lock, waited behind any
    writer, and a check timed out reported the database down while it was only busy.
    """
    async with _autocommit_engine(engine or get_engine()).connect() as connection:
        yield connection


@asynccontextmanager
async def open_report_connection(engine: AsyncEngine | None = None) -> AsyncIterator[AsyncConnection]:
    """A connection for a report's several reads (analytics).

    On PostgreSQL they share one transaction, so settings made with ``SET LOCAL`` hold for all of
    them. On SQLite they run in autocommit: a transaction there is ``BEGIN IMMEDIATE``, the write
    lock, and a dashboard waited behind a running workflow's step writes until its busy timeout.
    """
    engine = engine or get_engine()
    if engine.dialect.name == "sqlite":
        engine = _autocommit_engine(engine)
    async with engine.connect() as connection:
        yield connection


async def end_read_lock(session: AsyncSession) -> None:
    """End the session's transaction where a read holds a lock: on SQLite every transaction is
    ``BEGIN IMMEDIATE`` (the write lock). On PostgreSQL a read locks nothing, so the transaction
    goes on into the caller's next queries instead of costing a COMMIT and a BEGIN more."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        await session.commit()


async def dispose_engine() -> None:
    """Close every pooled and held connection (shutdown, tests)."""
    global _engine, _autocommit, _sessionmaker, _read_sessionmaker
    for pool in list(_read_pools.values()):
        pool.close()
    _read_pools.clear()
    for engine in (_engine, _autocommit):
        if engine is not None:
            await engine.dispose()
    _engine = _autocommit = None
    _sessionmaker = _read_sessionmaker = None
