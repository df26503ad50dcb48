"""Walking an expression tree: ``evaluate`` computes its value, ``references`` lists the root names it reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from services.workflows.expressions.functions import FUNCTIONS
from services.workflows.expressions.parser import parse
from services.workflows.expressions.syntax import (
    Attribute,
    Binary,
    Call,
    Comparison,
    Constant,
    Expression,
    ExpressionError,
    Index,
    ListValue,
    Logical,
    Name,
    Negate,
    Not,
)
from services.workflows.expressions.values import (
    Refused,
    arithmetic,
    compare,
    index_into,
    is_number,
    lookup,
    truthy,
    type_name,
)


def evaluate(expr: Expression | str, context: Mapping[str, Any]) -> Any:
    """The value of ``expr`` with root names read from ``context`` (JSON-like values).

    Raises ExpressionError, never TypeError/ZeroDivisionError, for type mismatches, division by
    zero, unknown root names, oversized results and bad function arguments.
    """
    return _evaluate(parse(expr) if isinstance(expr, str) else expr, context)


def references(expr: Expression | str) -> frozenset[str]:
    """The root names ``expr`` reads from its context; function names are not included."""
    pending: list[Expression] = [parse(expr) if isinstance(expr, str) else expr]
    names: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, Name):
            names.add(node.name)
        pending.extend(_children(node))
    return frozenset(names)


def _children(node: Expression) -> tuple[Expression, ...]:
    match node:
        case Constant() | Name():
            return ()
        case ListValue(items=items) | Logical(operands=items) | Call(args=items):
            return items
        case Attribute(target=target) | Negate(operand=target) | Not(operand=target):
            return (target,)
        case Index(target=left, index=right) | Binary(left=left, right=right) | Comparison(left=left, right=right):
            return (left, right)
        case _:
            assert_never(node)


def _evaluate(node: Expression, context: Mapping[str, Any]) -> Any:
    try:
        return _evaluate_node(node, context)
    except Refused as refused:
        raise ExpressionError(str(refused), node.position) from None


def _evaluate_node(node: Expression, context: Mapping[str, Any]) -> Any:
    match node:
        case Constant(value=value):
            return value
        case Name(name=name):
            if name not in context:
                raise Refused(f"unknown name '{name}'")
            return context[name]
        case ListValue(items=items):
            return [_evaluate(item, context) for item in items]
        case Attribute(target=target, key=key):
            return lookup(_evaluate(target, context), key)
        case Index(target=target, index=index):
            return index_into(_evaluate(target, context), _evaluate(index, context))
        case Negate(operand=operand):
            value = _evaluate(operand, context)
            if not is_number(value):
                raise Refused(f"cannot negate {type_name(value)}")
            return -value
        case Not(operand=operand):
            return not truthy(_evaluate(operand, context))
        case Logical(op="and", operands=operands):
            return all(truthy(_evaluate(operand, context)) for operand in operands)
        case Logical(operands=operands):
            return any(truthy(_evaluate(operand, context)) for operand in operands)
        case Binary(op=op, left=left, right=right):
            return arithmetic(op, _evaluate(left, context), _evaluate(right, context))
        case Comparison(op=op, left=left, right=right):
            return compare(op, _evaluate(left, context), _evaluate(right, context))
        case Call(function=name, args=args):
            if name not in FUNCTIONS:
                raise Refused(f"unknown function '{name}'")
            return FUNCTIONS[name].implementation(*(_evaluate(arg, context) for arg in args))
        case _:
            assert_never(node)
