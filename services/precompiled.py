"""A statement compiled once for a driver that takes named parameters, run many times past SQLAlchemy.

The hot paths that talk to psycopg directly (the step writer's statements, the workflow list's
read) compile their statement once per dialect and keep each parameter's bind processor, so a call
costs the driver's work and nothing of SQLAlchemy's statement building or execution context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ClauseElement, Dialect
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class Precompiled:
    """A statement compiled once for a driver taking named parameters, with each parameter's bind processor
    (and the value of the parameters the statement itself carries)."""

    sql: str
    parameters_of: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect, *,
                column_keys: list[str] | None = None) -> Precompiled:
        # for_executemany: no implicit RETURNING of the primary key, which nobody reads.
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=column_keys, for_executemany=True))
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        return cls(str(compiled), tuple((name, bind.type.dialect_impl(dialect).bind_processor(dialect),
                                         None if bind.callable is not None else bind.value)
                                        for name, bind in binds.items()))

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, process, default in self.parameters_of:
            value = values.get(name, default)
            out[name] = process(value) if process is not None and value is not None else value
        return out

