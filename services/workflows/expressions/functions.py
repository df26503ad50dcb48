"""The whitelisted functions expressions may call, and the ``FUNCTIONS`` table naming them."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Literal

from services.workflows.expressions.values import Refused, capped_text, compare, contains, is_number, truthy, type_name

_MAX_NUMBER_TEXT = 400
_MAX_ROUND_DIGITS = 15


@dataclass(frozen=True, slots=True)
class Function:
    """A whitelisted function: how many arguments it takes and what it does."""

    min_args: int
    max_args: int | None
    implementation: Callable[..., Any]

    def arity(self) -> str:
        """How many arguments, in words ("1 argument", "1 to 2 arguments", "at least 1 argument")."""
        if self.max_args is None:
            return f"at least {self.min_args} argument{'s' * (self.min_args != 1)}"
        if self.max_args == self.min_args:
            return f"{self.min_args} argument{'s' * (self.min_args != 1)}"
        return f"{self.min_args} to {self.max_args} arguments"


def _text(function: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Refused(f"{function}() expects a string, not {type_name(value)}")
    return value


def _numeric(function: str, value: Any) -> int | float:
    if not is_number(value):
        raise Refused(f"{function}() expects a number, not {type_name(value)}")
    return value


def _length(value: Any) -> int:
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise Refused(f"len() expects a string, list or object, not {type_name(value)}")


def _lower(value: Any) -> str:
    return capped_text(_text("lower", value).lower())


def _upper(value: Any) -> str:
    # Some characters grow when upper-cased ("ß" becomes "SS"), hence the cap.
    return capped_text(_text("upper", value).upper())


def _trim(value: Any) -> str:
    return _text("trim", value).strip()


def _contains_call(haystack: Any, needle: Any) -> bool:
    return contains(haystack, needle)


def _startswith(value: Any, prefix: Any) -> bool:
    return _text("startswith", value).startswith(_text("startswith", prefix))


def _endswith(value: Any, suffix: Any) -> bool:
    return _text("endswith", value).endswith(_text("endswith", suffix))


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if is_number(value):
        return value
    if not isinstance(value, str):
        raise Refused(f"number() expects a string, number or boolean, not {type_name(value)}")
    text = value.strip()
    if len(text) <= _MAX_NUMBER_TEXT and _INTEGER.fullmatch(text):
        return int(text)
    if len(text) <= _MAX_NUMBER_TEXT and _DECIMAL.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise Refused(f"number() cannot read {shown!r} as a number")


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)  # null, true, 1.5, [..], {..}
    except (TypeError, ValueError):
        raise Refused(f"string() cannot convert {type_name(value)}") from None
    return capped_text(text)


def _extreme(function: str, beats: Literal["<", ">"], values: tuple[Any, ...]) -> Any:
    items = values[0] if len(values) == 1 and isinstance(values[0], list | tuple) else values
    if not items:
        raise Refused(f"{function}() of an empty list has no value")
    best = items[0]
    for item in items:
        if not (is_number(item) or isinstance(item, str)):
            raise Refused(f"{function}() compares numbers or strings, not {type_name(item)}")
        if compare(beats, item, best):
            best = item
    return best


def _min(*values: Any) -> Any:
    return _extreme("min", "<", values)


def _max(*values: Any) -> Any:
    return _extreme("max", ">", values)


def _abs(value: Any) -> int | float:
    return abs(_numeric("abs", value))


def _round(value: Any, ndigits: Any = 0) -> int | float:
    """Halves round away from zero, on the number as written (2.675 → 2.68), unlike Python's round."""
    number = _numeric("round", value)
    if not is_number(ndigits) or isinstance(ndigits, float) or abs(ndigits) > _MAX_ROUND_DIGITS:
        raise Refused(f"round() takes a whole number of digits between -{_MAX_ROUND_DIGITS} and {_MAX_ROUND_DIGITS}")
    if isinstance(number, int) and ndigits >= 0:
        return number
    if isinstance(number, float) and not math.isfinite(number):
        raise Refused("round() needs a finite number")
    try:
        exact = Decimal(str(number))
    except ValueError:
        raise Refused("number is too large to round") from None
    with localcontext() as decimal_context:
        decimal_context.prec = max(exact.adjusted(), 0) + abs(ndigits) + 3
        rounded = exact.quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_UP)
    return int(rounded) if ndigits <= 0 else float(rounded)


FUNCTIONS: Mapping[str, Function] = {
    "len": Function(1, 1, _length),
    "lower": Function(1, 1, _lower),
    "upper": Function(1, 1, _upper),
    "trim": Function(1, 1, _trim),
    "contains": Function(2, 2, _contains_call),
    "startswith": Function(2, 2, _startswith),
    "endswith": Function(2, 2, _endswith),
    "number": Function(1, 1, _number),
    "string": Function(1, 1, _string),
    "bool": Function(1, 1, truthy),
    "min": Function(1, None, _min),
    "max": Function(1, None, _max),
    "abs": Function(1, 1, _abs),
    "round": Function(1, 2, _round),
}
