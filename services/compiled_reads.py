"""Hot reads: a Core select compiled once per process, run by the database driver itself.

The busiest GET of the API (the workflow list, which every dashboard and client polls) spent more
CPU in SQLAlchemy's statement building, execution context and result rows than in everything else
it did. A ``CompiledRead`` builds its select once; on PostgreSQL its SQL text and bind processors
are worked out once, and psycopg runs it as a prepared statement. Its rows are for a pydantic model
to validate next, so they are the driver's values as they come (SQLAlchemy's result processors
turned 20 rows into enums and checked datetimes at 3.5 µs a row, work the model does again in C):
enums are their stored values, JSON is parsed, timestamps are UTC (PostgreSQL sessions run in UTC,
``services.db``). The whole read is one hop into SQLAlchemy's greenlet (``services.db.run_read``)
on one reused cursor per connection. The driver's errors come out as SQLAlchemy's (a dropped
connection is invalidated), so callers and error handlers see what they saw before. Other
databases (SQLite, the embedded default) run the same select through SQLAlchemy.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from psycopg.rows import tuple_row
from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import run_read

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    named: tuple[tuple[str, str, Processor | None], ...]  # (name in the SQL, caller's keyword, processor)
    literals: dict[str, Any]  # values written into the statement itself, processed once
    names: tuple[str, ...]

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        parameters = dict(self.literals)
        for name, key, process in self.named:
            value = values[key]
            parameters[name] = process(value) if process is not None and value is not None else value
        return parameters


def _compile(statement: Select[Any], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    named: list[tuple[str, str, Processor | None]] = []
    literals: dict[str, Any] = {}
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required:
            named.append((name, bind.key, process))
        else:
            value = bind.effective_value
            literals[name] = process(value) if process is not None and value is not None else value
    names = tuple(str(column.key) for column in statement.selected_columns)
    return _Compiled(sql=str(compiled), named=tuple(named), literals=literals, names=names)


class CompiledRead:
    """A select with named ``bindparam`` values, built once and run many times.

    ``build`` returns the statement; every value it compares with is a ``bindparam`` named like the
    keyword given to ``records``.
    """

    def __init__(self, build: Callable[[], Select[Any]]) -> None:
        self.statement = build()
        self._by_dialect: dict[str, _Compiled] = {}

    async def records(self, session: AsyncSession, **values: Any) -> list[dict[str, Any]]:
        """The rows, each a dict of column key to value, for a pydantic model to validate."""
        return await run_read(session, functools.partial(self._read, values))

    def _read(self, values: Mapping[str, Any], connection: Connection) -> list[dict[str, Any]]:
        dialect = connection.dialect
        if dialect.name != "postgresql":
            return [dict(row) for row in connection.execute(self.statement, values).mappings()]
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        parameters = compiled.parameters(values)
        driver = connection.connection.driver_connection
        try:
            return await_only(_run_on_driver(driver, compiled, parameters))
        except dialect.loaded_dbapi.Error as error:
            disconnected = dialect.is_disconnect(error, driver, None)
            if disconnected:
                connection.invalidate(error)
            raise DBAPIError.instance(compiled.sql, parameters, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected, dialect=dialect) from error


# One cursor per driver connection, executed again and again (making one cost 15 µs a read).
_cursors: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


async def _run_on_driver(driver: Any, compiled: _Compiled, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = _cursors.get(driver)
    if cursor is None:
        cursor = _cursors[driver] = driver.cursor(row_factory=tuple_row)
    await cursor.execute(compiled.sql, parameters, prepare=True)
    names = compiled.names
    return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
