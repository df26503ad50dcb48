"""Step persistence on the engine's hot path: one writer thread per database, with group commit.

(On PostgreSQL it claims runs as well: a claim through this thread's psycopg connection costs a
fraction of one through the async engine.)

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
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Connection, Engine, Insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import as_sqlalchemy_error, create_sync_engine_for
from services.documents.run_outputs import save_output_documents
from services.precompiled import Precompiled
from services.read_pool import lost_its_server
from services.workflows.run_writes import (
    STEP_COLUMNS,
    RunEnd,
    RunEndRecorded,
    document_parameters,
    listeners_query,
    output_document_upsert,
    run_claim,
    run_end_update,
    step_upsert,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

Row = Mapping[str, Any]


@dataclass
class _Write:
    steps: Sequence[Row]
    documents: Sequence[Row]
    end: RunEnd | None
    done: asyncio.Future[RunEndRecorded | None]


@dataclass(frozen=True)
class _PostgresStatements:
    upsert: Precompiled
    document: Precompiled
    end: Precompiled
    claim: Precompiled


class StepWriter:
    """Commits step rows, the documents of output nodes and runs' ends from one dedicated thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        self._upsert = step_upsert(dialect.name)
        self._end = run_end_update(dialect.name)
        # SQLite: the driver is so fast that SQLAlchemy's per-call work is most of the cost; skip it.
        sqlite_fast_path = dialect.name == "sqlite"
        self._driver_upsert = _DriverStatement.compile(self._upsert, engine) if sqlite_fast_path else None
        # PostgreSQL: psycopg directly, each transaction pipelined (one round trip).
        self._postgres = _PostgresStatements(
            upsert=Precompiled.compile(self._upsert, dialect, column_keys=list(STEP_COLUMNS)),
            document=Precompiled.compile(output_document_upsert(), dialect),
            end=Precompiled.compile(self._end, dialect),
            claim=Precompiled.compile(run_claim(), dialect)) if dialect.name == "postgresql" else None
        self._autocommit = dialect.name == "postgresql"
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dwc-step-writer")
        self._connection: Connection | None = None  # touched only by the writer thread
        self._pending: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = threading.Event()

    async def write(self, steps: Sequence[Row], documents: Sequence[Row] = (),
                    end: RunEnd | None = None) -> RunEndRecorded | None:
        """Upsert ``steps``, insert ``documents`` and record ``end``, in that order; returns once they are
        committed, with what recording ``end`` found (None without one)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[RunEndRecorded | None] = loop.create_future()
        self._pending.append(_Write(steps, documents, end, done))
        if self._flusher is None or self._flusher.done() or self._flusher.get_loop() is not loop:
            self._flusher = loop.create_task(self._flush())
        return await done

    async def claim(self, parameters: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """PostgreSQL: the claim statement (``run_writes.run_claim``), autocommitted on this writer's connection
        (cheaper than the async engine); the row it returned, None when the run was not claimable."""
        statement = self._postgres
        assert statement is not None, "claims go through the writer on PostgreSQL only"
        loop = asyncio.get_running_loop()

        def claim_on(connection: Connection) -> tuple[Any, ...] | None:
            driver = connection.connection.driver_connection
            assert driver is not None
            try:
                row = driver.execute(statement.claim.sql, statement.claim.parameters(parameters)).fetchone()
            except psycopg.Error as exc:
                raise as_sqlalchemy_error(exc, statement=statement.claim.sql, lost=lost_its_server(driver)) from exc
            return tuple(row) if row is not None else None

        return await loop.run_in_executor(self._thread, self._on_connection, claim_on)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                ends = await loop.run_in_executor(self._thread, self._commit, batch)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0], None, exc)
                    continue
                for write in batch:  # one bad write must not fail the others that shared its commit
                    try:
                        ends = await loop.run_in_executor(self._thread, self._commit, [write])
                    except Exception as single:
                        _settle(write, None, single)
                    else:
                        _settle(write, ends[0] if ends else None, None)
            else:
                found = iter(ends)
                for write in batch:
                    _settle(write, next(found) if write.end is not None else None, None)

    def _commit(self, batch: list[_Write]) -> list[RunEndRecorded]:
        """Runs in the writer thread."""
        return self._on_connection(lambda connection: self._commit_on(connection, batch))

    def _on_connection(self, work: Callable[[Connection], _T]) -> _T:
        """Runs in the writer thread. Retries once on a fresh connection if the old one broke."""
        for attempt in (1, 2):
            try:
                return work(self._connect())
            except DBAPIError as exc:
                self._disconnect()
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _commit_on(self, connection: Connection, batch: list[_Write]) -> list[RunEndRecorded]:
        """What each ``end`` of the batch found, in order."""
        latest: dict[tuple[Any, str], Row] = {}  # a later write of the same step supersedes an earlier one
        documents: list[Row] = []
        ends: list[RunEnd] = []
        for write in batch:
            latest.update({(row["run_id"], row["node_id"]): row for row in write.steps})
            documents.extend(write.documents)
            if write.end is not None:
                ends.append(write.end)
        if self._driver_upsert is not None and not documents and not ends:
            self._commit_on_sqlite_driver(connection, self._driver_upsert.parameters(latest.values()))
            return []
        if self._postgres is not None:
            return self._commit_on_postgres(connection, self._postgres, list(latest.values()), documents, ends)
        with connection.begin():
            if latest:
                connection.execute(self._upsert, list(latest.values()))
            if documents:
                save_output_documents(connection, documents)
            return [self._record_end(connection, end) for end in ends]

    def _record_end(self, connection: Connection, end: RunEnd) -> RunEndRecorded:
        parameters = end.parameters()
        row = connection.execute(self._end, parameters).first()
        if row is None:
            return RunEndRecorded(ours=False)
        listened = connection.execute(listeners_query(int(row[1])), parameters).scalar()
        return RunEndRecorded(ours=True, listened=bool(listened))

    def _commit_on_postgres(self, connection: Connection, statements: _PostgresStatements, rows: list[Row],
                            documents: list[Row], ends: list[RunEnd]) -> list[RunEndRecorded]:
        """psycopg directly, on a connection that autocommits: a lone step is one statement; anything more
        is one transaction whose statements go out together and cost one round trip."""
        driver = connection.connection.driver_connection
        assert driver is not None
        sql = statements.upsert.sql
        try:
            if len(rows) == 1 and not documents and not ends:
                driver.execute(sql, statements.upsert.parameters(rows[0]))
                return []
            with driver.pipeline(), driver.transaction():
                cursor = driver.cursor()
                if rows:
                    cursor.executemany(sql, [statements.upsert.parameters(row) for row in rows])
                sql = statements.document.sql
                for document in documents:
                    cursor.execute(sql, statements.document.parameters(document_parameters(document)))
                sql = statements.end.sql
                end_cursors = [driver.cursor() for _ in ends]
                for end, end_cursor in zip(ends, end_cursors, strict=True):
                    end_cursor.execute(sql, statements.end.parameters(end.parameters()))
            rows_found = [end_cursor.fetchone() for end_cursor in end_cursors]
        except psycopg.Error as exc:
            raise as_sqlalchemy_error(exc, statement=sql, lost=lost_its_server(driver)) from exc
        return [RunEndRecorded(ours=row is not None, listened=bool(row[2]) if row is not None else False)
                for row in rows_found]

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
            raise DBAPIError.instance(self._driver_upsert.sql, parameters, exc, sqlite3.Error,
                                      hide_parameters=self._engine.hide_parameters) from exc

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


def _settle(write: _Write, result: RunEndRecorded | None, error: BaseException | None) -> None:
    if write.done.done():  # the caller was cancelled; its rows are committed (or not) all the same
        return
    if error is None:
        write.done.set_result(result)
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
