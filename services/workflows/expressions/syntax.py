"""The expression tree: node dataclasses, the ``Expression`` union, ``ExpressionError`` and the limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 50
MAX_RESULT_LENGTH = 100_000


class ExpressionError(ValueError):
    """Why an expression cannot be parsed or evaluated.

    ``position`` is the 0-based offset in the source (None when no place is to blame);
    ``message`` is the sentence users see and names the 1-based column.
    """

    def __init__(self, reason: str, position: int | None = None) -> None:
        self.message = reason if position is None else f"{reason} at column {position + 1}"
        self.position = position
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class Constant:
    """A literal: number, string, boolean or null."""

    value: str | int | float | bool | None
    position: int


@dataclass(frozen=True, slots=True)
class Name:
    """A root name read from the context (an upstream node id)."""

    name: str
    position: int


@dataclass(frozen=True, slots=True)
class ListValue:
    """A list literal ``[a, b]``."""

    items: tuple[Expression, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Attribute:
    """``target.key``: a dict key lookup."""

    target: Expression
    key: str
    position: int


@dataclass(frozen=True, slots=True)
class Index:
    """``target[index]``: a dict key or a list position."""

    target: Expression
    index: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Negate:
    """Unary minus."""

    operand: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    """``not operand`` / ``!operand``."""

    operand: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Logical:
    """``a and b and ...`` or ``a or b or ...``, kept flat so long chains stay shallow."""

    op: Literal["and", "or"]
    operands: tuple[Expression, ...]
    position: int


ArithmeticOp: TypeAlias = Literal["+", "-", "*", "/", "%"]
ComparisonOp: TypeAlias = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in"]


@dataclass(frozen=True, slots=True)
class Binary:
    """An arithmetic operation."""

    op: ArithmeticOp
    left: Expression
    right: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """An equality, ordering or membership test."""

    op: ComparisonOp
    left: Expression
    right: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a whitelisted function."""

    function: str
    args: tuple[Expression, ...]
    position: int


Expression: TypeAlias = (Constant | Name | ListValue | Attribute | Index | Negate | Not | Logical | Binary
                         | Comparison | Call)
