"""Hot reads: a Core select compiled once per process, run by the database driver itself.

The busiest GET of the API (the workflow list, which every dashboard and client polls) spent more
CPU in SQLAlchemy's statement building, execution context and result rows than in everything else
it did. A ``CompiledRead`` builds its select once; on PostgreSQL its SQL text and bind processors
are worked out once (``services.precompiled``), and psycopg runs it as a prepared statement. Its
rows are for a pydantic model to validate next, so they are the driver's values as they come
(SQLAlchemy's result processors turned 20 rows into enums and checked datetimes at 3.5 µs a row,
work the model does again in C): enums are their stored values, JSON is parsed, timestamps are UTC
(PostgreSQL sessions run in UTC, ``services.db``). The whole read is one hop into SQLAlchemy's
greenlet (``services.db.run_read``) on one reused cursor per connection. The driver's errors come
out as SQLAlchemy's (a dropped connection is invalidated), so callers and error handlers see what
they saw before. Other databases (SQLite, the embedded default) run the same select through
SQLAlchemy.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from psycopg.rows import tuple_row
from sqlalchemy import Connection, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import run_read
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
        return await run_read(session, functools.partial(self.rows_on, values=values))

    def rows_on(self, connection: Connection, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows, read on ``connection`` inside ``services.db.run_read`` (where the driver may be awaited)."""
        dialect = connection.dialect
        if dialect.name != "postgresql":
            return [dict(row) for row in connection.execute(self.statement, values).mappings()]
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = Precompiled.compile(self.statement, dialect)
        parameters = compiled.parameters(values)
        driver = connection.connection.driver_connection
        try:
            return await_only(_run_on_driver(driver, compiled.sql, parameters, self.names))
        except dialect.loaded_dbapi.Error as error:
            disconnected = dialect.is_disconnect(error, driver, None)
            if disconnected:
                connection.invalidate(error)
            raise DBAPIError.instance(compiled.sql, parameters, error, dialect.loaded_dbapi.Error,
                                      hide_parameters=connection.engine.hide_parameters,
                                      connection_invalidated=disconnected, dialect=dialect) from error


# One cursor per driver connection, executed again and again (making one cost 15 µs a read).
_cursors: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


async def _run_on_driver(driver: Any, sql: str, parameters: dict[str, Any],
                         names: tuple[str, ...]) -> list[dict[str, Any]]:
    cursor = _cursors.get(driver)
    if cursor is None:
        cursor = _cursors[driver] = driver.cursor(row_factory=tuple_row)
    await cursor.execute(sql, parameters, prepare=True)
    return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
