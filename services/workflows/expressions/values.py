"""The value rules shared by the evaluator and the functions: truthiness, type names, reading keys and
positions, arithmetic, comparison and membership, each refusing bad operands with ``Refused``."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from services.workflows.expressions.syntax import MAX_RESULT_LENGTH, ArithmeticOp, ComparisonOp


class Refused(Exception):
    """A value-level refusal; the evaluator turns it into an ExpressionError at the node's column."""


def truthy(value: Any) -> bool:
    """Python truthiness: null, false, 0, 0.0, "" and empty lists/objects are false; all else true.

    The string ``"false"`` is therefore true; compare explicitly (``x == "false"``) for that.
    """
    return bool(value)


def type_name(value: Any) -> str:
    """How error messages name the type of ``value`` ("null", "a number", "a list", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return "an object" if isinstance(value, Mapping) else f"a {type(value).__name__}"


def is_number(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is an int or float (booleans are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def lookup(target: Any, key: str) -> Any:
    """``target.key``: a dict key, or null when the key or the target is missing."""
    if target is None:
        return None
    if isinstance(target, Mapping):
        return target.get(key)
    raise Refused(f"cannot read '{key}' from {type_name(target)}; only objects have keys")


def index_into(target: Any, index: Any) -> Any:
    """``target[index]``: a dict key or a list/string position, null when out of range or missing."""
    if target is None:
        return None
    if isinstance(target, Mapping):
        if not isinstance(index, str):
            raise Refused(f"object keys are strings, not {type_name(index)}")
        return target.get(index)
    if isinstance(target, list | tuple | str):
        if not isinstance(index, int) or isinstance(index, bool):
            raise Refused(f"positions in {type_name(target)} are whole numbers, not {type_name(index)}")
        return target[index] if -len(target) <= index < len(target) else None
    raise Refused(f"cannot index into {type_name(target)}")


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod}


def arithmetic(op: ArithmeticOp, left: Any, right: Any) -> Any:
    """``left op right`` on numbers; ``+`` also joins two strings or two lists (capped in length)."""
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return _capped(left, right)
    if op == "+" and isinstance(left, list) and isinstance(right, list):
        return _capped(left, right)
    if not (is_number(left) and is_number(right)):
        hint = "; convert with string(x) or number(x)" if isinstance(left, str) or isinstance(right, str) else ""
        raise Refused(f"cannot apply '{op}' to {type_name(left)} and {type_name(right)}{hint}")
    if op in ("/", "%") and right == 0:
        raise Refused("division by zero")
    try:
        result = _ARITHMETIC[op](left, right)
    except OverflowError:
        raise Refused("number is too large") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise Refused("number is too large")
    return result


def _capped(left: Any, right: Any) -> Any:
    if len(left) + len(right) > MAX_RESULT_LENGTH:
        raise Refused(f"result would be longer than {MAX_RESULT_LENGTH} characters or items")
    return left + right


def capped_text(text: str) -> str:
    """``text`` itself, refused when longer than ``MAX_RESULT_LENGTH``."""
    return str(_capped(text, ""))


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def compare(op: ComparisonOp, left: Any, right: Any) -> bool:
    """``left op right``: equality on any values, ordering on two numbers or two strings, membership."""
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    if op in ("in", "not in"):
        return contains(right, left) == (op == "in")
    if (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return _ORDERINGS[op](left, right)
    raise Refused(f"cannot compare {type_name(left)} with {type_name(right)} using '{op}'")


def _equal(left: Any, right: Any) -> bool:
    # true == 1 is true in Python; here a boolean only equals a boolean.
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)


def contains(haystack: Any, needle: Any) -> bool:
    """``needle in haystack``: an equal item of a list, a substring, or a key of an object."""
    if isinstance(haystack, list | tuple):
        return any(_equal(item, needle) for item in haystack)
    if isinstance(haystack, str | Mapping):
        if not isinstance(needle, str):
            raise Refused(f"cannot look for {type_name(needle)} in {type_name(haystack)}; convert it with string(x)")
        return needle in haystack
    raise Refused(f"'in' needs a string, list or object on its right, not {type_name(haystack)}")
