"""A page of a compiled read with its total: as pydantic models, or as the JSON body those models would give.

The workflow list is the API's busiest read. Profiled under load, validating its 20 rows into
models and dumping them to JSON again took about an eighth of the call. On PostgreSQL,
``PageRead.json`` has the database build the body's array instead, with ``json_agg`` over the page,
in C and in the same round trip. The handler sends those bytes as they are. Building the JSON costs
PostgreSQL more than sending the rows (pgbench on 2 cores: 18,000 JSON pages a second against
35,000 pages of rows), and saves the API process more than that: writing the rows with pydantic's
serializer in the API process instead, without validating them, served about a tenth fewer reads
on two replicas (``bench/load.py``'s reads, five runs each, side by side). Each field is in the
form pydantic writes it:

* timestamps are UTC with a ``Z``, with microseconds only when there are some;
* UUIDs and enum values are strings;
* JSON columns are embedded as stored.

``tests/unit/services/test_page_reads.py`` holds the two forms equal. Other databases (SQLite, the
embedded default) validate and dump through the model.

The select must carry the page's total in a column named ``total`` (``count(*) OVER ()``), take
``offset`` and ``limit`` as ``bindparam`` values, and select every field of the model by name.
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

import psycopg
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import ColumnElement, Select, Text, cast, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.util import ClauseAdapter
from sqlmodel.ext.asyncio.session import AsyncSession

from services.compiled_reads import CompiledRead
from services.db import ReadSource, reading

M = TypeVar("M", bound=BaseModel)

# What PostgreSQL's JSON output writes as pydantic does; timestamps are formatted (below).
_AS_STORED: tuple[type, ...] = (int, str, bool, uuid.UUID, StrEnum, list, dict, types.NoneType)
_UTC_MICROSECONDS = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _kinds(annotation: Any) -> tuple[Any, ...]:
    """The classes a field may hold: ``datetime | None`` is (datetime, NoneType)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(kind for arm in typing.get_args(annotation) for kind in _kinds(arm))
    return (typing.get_origin(annotation) or annotation,)


def _as_pydantic_writes(column: ColumnElement[Any], annotation: Any) -> ColumnElement[Any]:
    kinds = _kinds(annotation)
    if datetime in kinds:  # 2026-03-01T12:00:00.000001Z, and 2026-03-01T12:00:00Z without a fraction
        written = func.to_char(func.timezone("UTC", column), literal_column(f"'{_UTC_MICROSECONDS}'"))
        return func.replace(written, literal_column("'.000000Z'"), literal_column("'Z'"))
    unknown = [kind for kind in kinds if not (isinstance(kind, type) and issubclass(kind, _AS_STORED))]
    if unknown:
        msg = f"PageRead cannot write {annotation!r} as pydantic does; add how to the formats above"
        raise TypeError(msg)
    return column


def _json_select(statement: Select[Any], model: type[BaseModel]) -> Select[str, int, Any]:
    """One row: the page as a JSON array (text), how many rows it has, and the total of the whole list.

    Each row is aggregated whole (``json_agg(item)`` of a lateral select naming the fields), which
    PostgreSQL writes about a fifth faster than a ``json_build_object`` of the same pairs.
    """
    page = statement.subquery("page")
    if model.__pydantic_decorators__.field_serializers or model.__pydantic_decorators__.model_serializers:
        msg = f"{model.__name__} has its own serializers, which the database would not run"
        raise TypeError(msg)
    for name, field in model.model_fields.items():
        if not name.isidentifier() or field.alias or field.serialization_alias:
            msg = f"{model.__name__}.{name} is not written under its own name"
            raise ValueError(msg)
    item = (select(*(_as_pydantic_writes(page.c[name], field.annotation).label(name)
                     for name, field in model.model_fields.items()))
            .correlate(page).lateral("item"))
    # The array keeps the page's order: an aggregate's input order is only certain when it is given.
    order = [ClauseAdapter(page).traverse(clause) for clause in statement._order_by_clauses]
    rows = func.json_agg(aggregate_order_by(item.table_valued(), *order))
    return (select(cast(func.coalesce(rows, literal_column("'[]'::json")), Text).label("data"),
                   func.count().label("rows"), func.max(page.c.total).label("total"))
            .select_from(page).join(item, true()))


class PageRead(Generic[M]):
    """Pages of ``build``'s select as ``model`` rows plus the total, or as ``{"data": [...], "count": N}``."""

    def __init__(self, build: Callable[[], Select[Any]], model: type[M]) -> None:
        self._rows = CompiledRead(build)
        self._built = CompiledRead(lambda: _json_select(self._rows.statement, model))
        rows: TypeAdapter[list[M]] = TypeAdapter(list[model])  # type: ignore[valid-type]
        self._validate, self._dump = rows.validate_python, rows.dump_json

    async def models(self, session: AsyncSession, *, offset: int, limit: int,
                     **values: Any) -> tuple[list[M], int]:
        """The page's rows as models, and the total of the whole list."""
        async with reading(session) as source:
            return await self._models(source, {**values, "offset": offset, "limit": limit})

    async def json(self, session: AsyncSession, *, offset: int, limit: int, **values: Any) -> bytes:
        """The page as the JSON body ``{"data": [...], "count": N}`` of the models ``models`` returns."""
        async with reading(session) as source:
            return await self._json(source, {**values, "offset": offset, "limit": limit})

    async def _models(self, source: ReadSource, values: Mapping[str, Any]) -> tuple[list[M], int]:
        rows = await self._rows.rows(source, values)
        total = int(rows[0]["total"]) if rows else await self._total_past_the_end(source, values)
        return self._validate(rows), total

    async def _json(self, source: ReadSource, values: Mapping[str, Any]) -> bytes:
        if not isinstance(source, psycopg.AsyncConnection):
            models, total = await self._models(source, values)
            return b'{"data":%s,"count":%d}' % (self._dump(models), total)
        [built] = await self._built.rows(source, values)
        total = int(built["total"]) if built["rows"] else await self._total_past_the_end(source, values)
        return b'{"data":%s,"count":%d}' % (built["data"].encode(), total)

    async def _total_past_the_end(self, source: ReadSource, values: Mapping[str, Any]) -> int:
        """A page past the end has no row to carry the total: the first page's first row does."""
        if not values["offset"]:
            return 0
        first = await self._rows.rows(source, {**values, "offset": 0, "limit": 1})
        return int(first[0]["total"]) if first else 0
