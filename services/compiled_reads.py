"""Hot reads: a Core select compiled once per process, run by the database driver itself.

The busiest GET of the API (the workflow list, which every dashboard and client polls) spent more
CPU in SQLAlchemy's statement building, execution context and result rows than in everything else
it did. A ``CompiledRead`` builds its select once; on PostgreSQL its SQL text and bind processors
are worked out once (``services.precompiled``), and psycopg runs it as a prepared statement, on one
reused cursor per connection, on the connection ``services.db.reading`` gives (for a read session,
one this process holds outside SQLAlchemy's pool: ``services.read_pool``). Its rows are for a
pydantic model to validate next, so they are the driver's values as they come (SQLAlchemy's result
processors turned 20 rows into enums and checked datetimes at 3.5 µs a row, work the model does
again in C): enums are their stored values, JSON is parsed, timestamps are UTC (PostgreSQL
sessions run in UTC, ``services.db``). The driver's errors come out as SQLAlchemy's (a lost
connection's with ``connection_invalidated``), so callers and error handlers see what they saw
before. Other databases (SQLite, the embedded default) run the same select through SQLAlchemy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import ReadSource, reading
from services.precompiled import Precompiled


class CompiledRead:
    """A select with named ``bindparam`` values, built once and run many times.

    ``build`` returns the statement; every value it compares with is a ``bindparam`` named like the
    keyword given to ``records``.
    """

    def __init__(self, build: Callable[[], Select[*tuple[Any, ...]]]) -> None:
        self.statement = build()
        self.names = tuple(str(column.key) for column in self.statement.selected_columns)
        self._compiled: Precompiled | None = None  # for PostgreSQL, on first use

    async def records(self, session: AsyncSession, **values: Any) -> list[dict[str, Any]]:
        """The rows, each a dict of column key to value, for a pydantic model to validate."""
        async with reading(session) as source:
            return await self.rows(source, values)

    async def rows(self, source: ReadSource, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows, read on ``source`` (inside ``services.db.reading``, which maps the driver's errors)."""
        if not isinstance(source, psycopg.AsyncConnection):
            return [dict(row) for row in (await source.execute(self.statement, values)).mappings()]
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = Precompiled.compile(self.statement, _POSTGRESQL)
        cursor = _cursors.get(source)
        if cursor is None:
            cursor = _cursors[source] = source.cursor(row_factory=tuple_row)
        await cursor.execute(compiled.sql, compiled.parameters(values), prepare=True)
        return [dict(zip(self.names, row, strict=True)) for row in await cursor.fetchall()]


# What the statements are compiled for (the SQL and bind processors of every psycopg engine's dialect).
_POSTGRESQL = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]

# One cursor per driver connection, executed again and again (making one cost 15 µs a read).
_cursors: weakref.WeakKeyDictionary[psycopg.AsyncConnection, psycopg.AsyncCursor[Any]] = weakref.WeakKeyDictionary()
