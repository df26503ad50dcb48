"""Step persistence on the engine's hot path: one writer thread per database, with group commit.

Every finished step must be committed before the nodes that depend on it start, so a step write
sits on the critical path of every node. Through the async engine it costs 1-2 ms (pool
checkout, greenlet and driver-thread hops, statement compilation); this writer keeps one
synchronous connection in one dedicated thread, reuses a compiled upsert, and commits every
write that arrived while the previous commit was in flight as one transaction. A chain pays one
thread hop plus one INSERT+COMMIT per node; a fan-out or many concurrent runs share commits.

Each caller awaits its own write: when ``write`` returns, the rows are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.run import Step
from services.db import create_sync_engine_for
from services.documents.run_outputs import save_output_documents

log = logging.getLogger(__name__)
STEPS: Table = Step.__table__  # type: ignore[attr-defined]
_UPDATED_ON_CONFLICT = ("status", "attempt", "input", "output", "error", "started_at", "finished_at",
                        "duration_ms", "tokens", "cost", "logs")

Row = Mapping[str, Any]


@dataclass
class _Write:
    steps: Sequence[Row]
    documents: Sequence[Row]
    done: asyncio.Future[None]


class StepWriter:
    """Commits step rows (and the documents of output nodes) from one dedicated thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._upsert = _step_upsert(engine.dialect.name)
        # SQLite: the driver is so fast that SQLAlchemy's per-call work is most of the cost; skip it.
        sqlite_fast_path = engine.dialect.name == "sqlite"
        self._driver_upsert = _DriverStatement.compile(self._upsert, engine) if sqlite_fast_path else None
        self._autocommit = engine.dialect.name == "postgresql"
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dwc-step-writer")
        self._connection: Connection | None = None  # touched only by the writer thread
        self._pending: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = threading.Event()

    async def write(self, steps: Sequence[Row], documents: Sequence[Row] = ()) -> None:
        """Upsert ``steps`` and insert ``documents``; returns once they are committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append(_Write(steps, documents, done))
        if self._flusher is None or self._flusher.done() or self._flusher.get_loop() is not loop:
            self._flusher = loop.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await loop.run_in_executor(self._thread, self._commit, batch)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0], exc)
                    continue
                for write in batch:  # one bad write must not fail the others that shared its commit
                    try:
                        await loop.run_in_executor(self._thread, self._commit, [write])
                    except Exception as single:
                        _settle(write, single)
                    else:
                        _settle(write, None)
            else:
                for write in batch:
                    _settle(write, None)

    def _commit(self, batch: list[_Write]) -> None:
        """Runs in the writer thread. Retries once on a fresh connection if the old one broke."""
        for attempt in (1, 2):
            try:
                self._commit_on(self._connect(), batch)
                return
            except DBAPIError as exc:
                self._disconnect()
                if attempt == 2 or not exc.connection_invalidated:
                    raise

    def _commit_on(self, connection: Connection, batch: list[_Write]) -> None:
        latest: dict[tuple[Any, str], Row] = {}  # a later write of the same step supersedes an earlier one
        documents: list[Row] = []
        for write in batch:
            latest.update({(row["run_id"], row["node_id"]): row for row in write.steps})
            documents.extend(write.documents)
        if self._driver_upsert is not None and not documents:
            self._commit_on_sqlite_driver(connection, self._driver_upsert.parameters(latest.values()))
            return
        if self._autocommit:
            self._commit_on_postgres(connection, list(latest.values()), documents)
            return
        with connection.begin():
            if latest:
                connection.execute(self._upsert, list(latest.values()))
            if documents:
                save_output_documents(connection, documents)

    def _commit_on_postgres(self, connection: Connection, rows: list[Row], documents: list[Row]) -> None:
        """The connection autocommits: a lone step is one statement and one round trip; more go in a transaction."""
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.transaction() if len(rows) > 1 or documents else contextlib.nullcontext():
            if rows:  # one row goes as a plain execute: psycopg's executemany pipeline costs more
                connection.execute(self._upsert, rows[0] if len(rows) == 1 else rows)
            if documents:
                save_output_documents(connection, documents)
        connection.commit()  # ends SQLAlchemy's bookkeeping; the database already committed

    def _commit_on_sqlite_driver(self, connection: Connection, parameters: list[tuple[Any, ...]]) -> None:
        """The same upsert straight on the sqlite3 connection (autocommit mode: we issue BEGIN and COMMIT)."""
        assert self._driver_upsert is not None
        driver = connection.connection.driver_connection
        assert driver is not None
        try:
            if len(parameters) == 1:  # one statement is its own transaction in autocommit mode
                driver.execute(self._driver_upsert.sql, parameters[0])
                return
            driver.execute("BEGIN IMMEDIATE")
            try:
                driver.executemany(self._driver_upsert.sql, parameters)
                driver.execute("COMMIT")
            except BaseException:
                driver.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:  # the same exception SQLAlchemy would have raised
            raise DBAPIError.instance(self._driver_upsert.sql, parameters, exc, sqlite3.Error) from exc

    def _connect(self) -> Connection:
        if self._closed.is_set():
            raise RuntimeError("the step writer is closed")
        if self._connection is None:
            connection = self._engine.connect()
            self._connection = connection.execution_options(isolation_level="AUTOCOMMIT") if self._autocommit else (
                connection)
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # already broken: nothing left to release
                log.debug("closing a broken step-writer connection failed", exc_info=True)
            self._connection = None

    def close(self) -> None:
        """Close the connection and stop the thread (blocking; pending writes finish first)."""
        try:
            self._thread.submit(self._close_in_thread).result()
        except RuntimeError:  # interpreter shutdown already stopped the thread (and its connection)
            pass
        self._thread.shutdown(wait=True)
        self._engine.dispose()

    def _close_in_thread(self) -> None:
        self._closed.set()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled once for a positional-parameter driver, with each column's bind processor."""

    sql: str
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    @classmethod
    def compile(cls, statement: Insert, engine: Engine) -> _DriverStatement:
        compiled = statement.compile(dialect=engine.dialect)
        names = compiled.positiontup
        assert names is not None, "the driver takes positional parameters"
        table_columns = statement.table.c
        return cls(str(compiled), tuple((name, table_columns[name].type.bind_processor(engine.dialect))
                                        for name in names))

    def parameters(self, rows: Iterable[Row]) -> list[tuple[Any, ...]]:
        return [tuple(process(row.get(name)) if process else row.get(name) for name, process in self.columns)
                for row in rows]


def _step_upsert(dialect: str) -> Insert:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(STEPS)
    return statement.on_conflict_do_update(index_elements=[STEPS.c.run_id, STEPS.c.node_id],
                                           set_={name: statement.excluded[name] for name in _UPDATED_ON_CONFLICT})


def _settle(write: _Write, error: BaseException | None) -> None:
    if write.done.done():  # the caller was cancelled; its rows are committed (or not) all the same
        return
    if error is None:
        write.done.set_result(None)
    else:
        write.done.set_exception(error)


_writers: weakref.WeakKeyDictionary[AsyncEngine, StepWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def step_writer_for(engine: AsyncEngine) -> StepWriter:
    """The writer for the database behind ``engine`` (one per engine, closed when it is collected)."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            url = engine.url.render_as_string(hide_password=False)
            sync_engine = create_sync_engine_for(url, pool_size=1, max_overflow=0)
            writer = _writers[engine] = StepWriter(sync_engine)
            weakref.finalize(engine, writer.close)
        return writer
