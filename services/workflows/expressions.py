"""The small, safe expression language condition nodes branch on.

``draft.metadata.sentiment == "positive" and len(review.content) > 200`` reads upstream node
outputs by node id. Source is tokenized and parsed by hand into frozen dataclasses, then the tree
is walked; user text never reaches ``eval``, ``exec`` or ``compile``.

What the language has:

* literals: ``12``, ``1.5``, ``2e3``, ``'text'`` / ``"text"`` (escapes ``\\n \\t \\r \\\\ \\' \\" \\/ \\uXXXX``),
  ``true false null`` (also ``True False None``) and lists ``["a", "b"]``;
* ``a.b`` and ``a["b"]`` read dict keys only (never Python attributes), ``a[0]`` reads a list;
  a missing key, an index out of range, or reading from null gives null. A root name missing
  from the context is an error;
* by precedence, loosest first: ``or ||``; ``and &&``; ``not !``; ``== != < <= > >= in``,
  ``not in`` (not chainable); ``+ -``; ``* / %``; unary ``-``; ``.key [index]``;
* ``and``, ``or`` and ``not`` short-circuit and always give true or false;
* whitelisted functions only (``FUNCTIONS``); any other name followed by ``(`` fails at parse time:
  ``len lower upper trim contains startswith endswith number string bool min max abs round``.
  ``string`` writes non-strings as JSON (``null``, ``true``, ``[1, 2]``); ``number`` reads ints and
  decimals; ``min``/``max`` take several values or one list; ``round(x, ndigits=0)`` rounds halves
  away from zero and gives a whole number when ``ndigits <= 0``.

Limits keep it cheap: ``MAX_SOURCE_LENGTH`` characters, ``MAX_DEPTH`` levels of nesting (brackets,
prefix operators, operator chains, ``.key`` chains), strings and lists capped at
``MAX_RESULT_LENGTH``, no repetition operator, no power operator.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Literal, NoReturn, TypeAlias, TypeGuard, assert_never

MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 50
MAX_RESULT_LENGTH = 100_000
_MAX_NUMBER_TEXT = 400
_MAX_ROUND_DIGITS = 15


class ExpressionError(ValueError):
    """Why an expression cannot be parsed or evaluated.

    ``position`` is the 0-based offset in the source (None when no place is to blame);
    ``message`` is the sentence users see and names the 1-based column.
    """

    def __init__(self, reason: str, position: int | None = None) -> None:
        self.message = reason if position is None else f"{reason} at column {position + 1}"
        self.position = position
        super().__init__(self.message)


class _Refused(Exception):
    """A value-level refusal; the evaluator turns it into an ExpressionError at the node's column."""


# --- the tree ------------------------------------------------------------------------------

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


# --- tokens --------------------------------------------------------------------------------

TokenKind: TypeAlias = Literal["number", "string", "name", "op", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    value: str | int | float | None
    position: int


_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",", ".")
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | _DIGITS
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "/": "/"}
_HEX = frozenset("0123456789abcdefABCDEF")
_CONSTANTS: dict[str, bool | None] = {"true": True, "false": False, "null": None,
                                      "True": True, "False": False, "None": None}
_RESERVED = frozenset({"and", "or", "not", "in"})


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char in " \t\r\n":
            i += 1
        elif char in _DIGITS:
            token = _read_number(source, i)
            tokens.append(token)
            i += len(token.text)
        elif char in "'\"":
            token, i = _read_string(source, i)
            tokens.append(token)
        elif char in _NAME_START:
            end = i
            while end < len(source) and source[end] in _NAME_CHARS:
                end += 1
            tokens.append(_Token("name", source[i:end], None, i))
            i = end
        else:
            op = next((op for op in _OPERATORS if source.startswith(op, i)), None)
            if op is None:
                hint = " (use '==' to compare)" if char == "=" else ""
                raise ExpressionError(f"unexpected character {char!r}{hint}", i)
            tokens.append(_Token("op", op, None, i))
            i += len(op)
    tokens.append(_Token("end", "", None, len(source)))
    return tokens


def _read_digits(source: str, i: int) -> int:
    while i < len(source) and source[i] in _DIGITS:
        i += 1
    return i


def _read_number(source: str, start: int) -> _Token:
    end = _read_digits(source, start)
    is_float = False
    if end + 1 < len(source) and source[end] == "." and source[end + 1] in _DIGITS:
        end, is_float = _read_digits(source, end + 1), True
    if end < len(source) and source[end] in "eE":
        sign = end + 2 if source[end + 1:end + 2] in ("+", "-") else end + 1
        if sign < len(source) and source[sign] in _DIGITS:
            end, is_float = _read_digits(source, sign), True
    text = source[start:end]
    value: int | float = float(text) if is_float else int(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"number {text} is too large", start)
    return _Token("number", text, value, start)


def _read_string(source: str, start: int) -> tuple[_Token, int]:
    quote, i, chars = source[start], start + 1, []
    while i < len(source) and source[i] != quote:
        if source[i] != "\\":
            chars.append(source[i])
            i += 1
            continue
        code = source[i + 1:i + 2]
        if code == "u" and len(source) >= i + 6 and set(source[i + 2:i + 6]) <= _HEX:
            chars.append(chr(int(source[i + 2:i + 6], 16)))
            i += 6
        elif code in _ESCAPES and code:
            chars.append(_ESCAPES[code])
            i += 2
        else:
            raise ExpressionError(f"unknown escape '\\{code}' in a string", i)
    if i >= len(source):
        raise ExpressionError("string is never closed", start)
    return _Token("string", source[start:i + 1], "".join(chars), start), i + 1


# --- parsing -------------------------------------------------------------------------------

def parse(source: str) -> Expression:
    """Parse ``source`` into a tree, or raise ExpressionError naming the column at fault."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression is {len(source)} characters long; the limit is {MAX_SOURCE_LENGTH}")
    if not source.strip():
        raise ExpressionError("expression is empty")
    return _Parser(_tokenize(source)).parse()


# How tightly each infix operator binds; "not" here is the start of "not in". Prefix "not" binds at
# _NOT_POWER (looser than comparisons) and prefix "-" at _NEGATE_POWER (tighter than "*").
_INFIX_POWER: dict[str, int] = {
    "or": 1, "||": 1, "and": 2, "&&": 2,
    "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4, "not": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, ".": 8, "[": 8}
_NOT_POWER, _COMPARISON_POWER, _NEGATE_POWER = 3, 4, 7
_LOGICAL_OPS: dict[str, Literal["and", "or"]] = {"or": "or", "||": "or", "and": "and", "&&": "and"}


class _Parser:
    """A Pratt parser: infix operators are one loop, so each nesting level costs only a few Python frames."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse(self) -> Expression:
        node = self._expression(0)
        if self._peek().kind != "end":
            self._fail(self._peek())
        return node

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _at(self, text: str) -> bool:
        token = self._peek()
        return token.kind in ("op", "name") and token.text == text

    def _advance(self) -> _Token:
        token = self._peek()
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _expect(self, text: str) -> _Token:
        if not self._at(text):
            token = self._peek()
            raise ExpressionError(f"expected '{text}' but found {_describe(token)}", token.position)
        return self._advance()

    def _fail(self, token: _Token) -> NoReturn:
        raise ExpressionError(f"unexpected {_describe(token)}", token.position)

    def _descend(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests more than {MAX_DEPTH} levels deep; split it up", token.position)

    def _infix_power(self) -> int:
        token = self._peek()
        return _INFIX_POWER.get(token.text, 0) if token.kind in ("op", "name") else 0

    def _expression(self, floor: int) -> Expression:
        node, links = self._prefix(), 0
        while self._infix_power() > floor:
            token = self._advance()
            if token.text in _LOGICAL_OPS:
                # Kept flat (no extra depth): the evaluator walks the operands in a loop.
                op = _LOGICAL_OPS[token.text]
                right = self._expression(_INFIX_POWER[token.text])
                operands = node.operands if isinstance(node, Logical) and node.op == op else (node,)
                node = Logical(op, (*operands, right), node.position)
                continue
            self._descend(token)  # every other link nests the tree one level deeper
            links += 1
            node = self._infix(token, node)
        self._depth -= links
        return node

    def _infix(self, token: _Token, left: Expression) -> Expression:
        if token.text == ".":
            key = self._advance()
            if key.kind != "name":
                raise ExpressionError(f"expected a key name after '.' but found {_describe(key)}", key.position)
            return Attribute(left, key.text, token.position)
        if token.text == "[":
            index = self._expression(0)
            self._expect("]")
            return Index(left, index, token.position)
        if token.text in _ARITHMETIC_OPS:
            return Binary(_ARITHMETIC_OPS[token.text], left, self._expression(_INFIX_POWER[token.text]),
                          token.position)
        op = token.text
        if op == "not":
            self._expect("in")
            op = "not in"
        node = Comparison(_COMPARISON_OPS[op], left, self._expression(_COMPARISON_POWER), token.position)
        if self._infix_power() == _COMPARISON_POWER:
            raise ExpressionError("comparisons cannot be chained; join them with 'and'", self._peek().position)
        return node

    def _prefix(self) -> Expression:
        token = self._advance()
        if token.kind in ("number", "string"):
            return Constant(token.value, token.position)
        if token.kind == "name" and token.text in _CONSTANTS:
            return Constant(_CONSTANTS[token.text], token.position)
        if token.kind == "name" and token.text not in _RESERVED:
            return self._call(token) if self._at("(") else Name(token.text, token.position)
        if token.kind == "name" and token.text == "in" and (self._at(".") or self._at("[")):
            # "in" is a common input node id (the contract's example): as an operand it is a name
            return Name(token.text, token.position)
        if token.kind in ("op", "name") and token.text in ("not", "!", "-", "(", "["):
            self._descend(token)
            node = self._nested(token)
            self._depth -= 1
            return node
        self._fail(token)

    def _nested(self, token: _Token) -> Expression:
        if token.text == "-":
            return Negate(self._expression(_NEGATE_POWER), token.position)
        if token.text == "(":
            node = self._expression(0)
            self._expect(")")
            return node
        if token.text == "[":
            return ListValue(self._arguments("]"), token.position)
        return Not(self._expression(_NOT_POWER), token.position)

    def _call(self, name: _Token) -> Call:
        function = FUNCTIONS.get(name.text)
        if function is None:
            raise ExpressionError(f"unknown function '{name.text}' (available: {', '.join(sorted(FUNCTIONS))})",
                                  name.position)
        self._descend(self._advance())
        args = self._arguments(")")
        self._depth -= 1
        if len(args) < function.min_args or (function.max_args is not None and len(args) > function.max_args):
            raise ExpressionError(f"{name.text}() takes {function.arity()}, got {len(args)}", name.position)
        return Call(name.text, args, name.position)

    def _arguments(self, closing: str) -> tuple[Expression, ...]:
        items: list[Expression] = []
        while not self._at(closing):
            items.append(self._expression(0))
            if not self._at(closing):
                self._expect(",")
        self._advance()
        return tuple(items)


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "end of expression"
    text = token.text if len(token.text) <= 20 else token.text[:20] + "..."
    return {"number": f"number {text}", "string": f"text {text}"}.get(token.kind, f"'{text}'")


_COMPARISON_OPS: dict[str, ComparisonOp] = {
    "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "in", "not in": "not in"}
_ARITHMETIC_OPS: dict[str, ArithmeticOp] = {"+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}


# --- evaluation ----------------------------------------------------------------------------

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


def truthy(value: Any) -> bool:
    """Python truthiness: null, false, 0, 0.0, "" and empty lists/objects are false; all else true.

    The string ``"false"`` is therefore true; compare explicitly (``x == "false"``) for that.
    """
    return bool(value)


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
    except _Refused as refused:
        raise ExpressionError(str(refused), node.position) from None


def _evaluate_node(node: Expression, context: Mapping[str, Any]) -> Any:
    match node:
        case Constant(value=value):
            return value
        case Name(name=name):
            if name not in context:
                raise _Refused(f"unknown name '{name}'")
            return context[name]
        case ListValue(items=items):
            return [_evaluate(item, context) for item in items]
        case Attribute(target=target, key=key):
            return _lookup(_evaluate(target, context), key)
        case Index(target=target, index=index):
            return _index(_evaluate(target, context), _evaluate(index, context))
        case Negate(operand=operand):
            value = _evaluate(operand, context)
            if not _is_number(value):
                raise _Refused(f"cannot negate {_type_name(value)}")
            return -value
        case Not(operand=operand):
            return not truthy(_evaluate(operand, context))
        case Logical(op="and", operands=operands):
            return all(truthy(_evaluate(operand, context)) for operand in operands)
        case Logical(operands=operands):
            return any(truthy(_evaluate(operand, context)) for operand in operands)
        case Binary(op=op, left=left, right=right):
            return _arithmetic(op, _evaluate(left, context), _evaluate(right, context))
        case Comparison(op=op, left=left, right=right):
            return _compare(op, _evaluate(left, context), _evaluate(right, context))
        case Call(function=name, args=args):
            if name not in FUNCTIONS:
                raise _Refused(f"unknown function '{name}'")
            return FUNCTIONS[name].implementation(*(_evaluate(arg, context) for arg in args))
        case _:
            assert_never(node)


def _type_name(value: Any) -> str:
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


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lookup(target: Any, key: str) -> Any:
    if target is None:
        return None
    if isinstance(target, Mapping):
        return target.get(key)
    raise _Refused(f"cannot read '{key}' from {_type_name(target)}; only objects have keys")


def _index(target: Any, index: Any) -> Any:
    if target is None:
        return None
    if isinstance(target, Mapping):
        if not isinstance(index, str):
            raise _Refused(f"object keys are strings, not {_type_name(index)}")
        return target.get(index)
    if isinstance(target, list | tuple | str):
        if not isinstance(index, int) or isinstance(index, bool):
            raise _Refused(f"positions in {_type_name(target)} are whole numbers, not {_type_name(index)}")
        return target[index] if -len(target) <= index < len(target) else None
    raise _Refused(f"cannot index into {_type_name(target)}")


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod}


def _arithmetic(op: ArithmeticOp, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return _capped(left, right)
    if op == "+" and isinstance(left, list) and isinstance(right, list):
        return _capped(left, right)
    if not (_is_number(left) and _is_number(right)):
        hint = "; convert with string(x) or number(x)" if isinstance(left, str) or isinstance(right, str) else ""
        raise _Refused(f"cannot apply '{op}' to {_type_name(left)} and {_type_name(right)}{hint}")
    if op in ("/", "%") and right == 0:
        raise _Refused("division by zero")
    try:
        result = _ARITHMETIC[op](left, right)
    except OverflowError:
        raise _Refused("number is too large") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise _Refused("number is too large")
    return result


def _capped(left: Any, right: Any) -> Any:
    if len(left) + len(right) > MAX_RESULT_LENGTH:
        raise _Refused(f"result would be longer than {MAX_RESULT_LENGTH} characters or items")
    return left + right


def _capped_text(text: str) -> str:
    return str(_capped(text, ""))


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _compare(op: ComparisonOp, left: Any, right: Any) -> bool:
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    if op in ("in", "not in"):
        return _contains(right, left) == (op == "in")
    if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return _ORDERINGS[op](left, right)
    raise _Refused(f"cannot compare {_type_name(left)} with {_type_name(right)} using '{op}'")


def _equal(left: Any, right: Any) -> bool:
    # true == 1 is true in Python; here a boolean only equals a boolean.
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list | tuple):
        return any(_equal(item, needle) for item in haystack)
    if isinstance(haystack, str | Mapping):
        if not isinstance(needle, str):
            raise _Refused(f"cannot look for {_type_name(needle)} in {_type_name(haystack)}; convert it with string(x)")
        return needle in haystack
    raise _Refused(f"'in' needs a string, list or object on its right, not {_type_name(haystack)}")


# --- functions -----------------------------------------------------------------------------

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
        raise _Refused(f"{function}() expects a string, not {_type_name(value)}")
    return value


def _numeric(function: str, value: Any) -> int | float:
    if not _is_number(value):
        raise _Refused(f"{function}() expects a number, not {_type_name(value)}")
    return value


def _length(value: Any) -> int:
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise _Refused(f"len() expects a string, list or object, not {_type_name(value)}")


def _lower(value: Any) -> str:
    return _capped_text(_text("lower", value).lower())


def _upper(value: Any) -> str:
    # Some characters grow when upper-cased ("ß" becomes "SS"), hence the cap.
    return _capped_text(_text("upper", value).upper())


def _trim(value: Any) -> str:
    return _text("trim", value).strip()


def _contains_call(haystack: Any, needle: Any) -> bool:
    return _contains(haystack, needle)


def _startswith(value: Any, prefix: Any) -> bool:
    return _text("startswith", value).startswith(_text("startswith", prefix))


def _endswith(value: Any, suffix: Any) -> bool:
    return _text("endswith", value).endswith(_text("endswith", suffix))


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if _is_number(value):
        return value
    if not isinstance(value, str):
        raise _Refused(f"number() expects a string, number or boolean, not {_type_name(value)}")
    text = value.strip()
    if len(text) <= _MAX_NUMBER_TEXT and _INTEGER.fullmatch(text):
        return int(text)
    if len(text) <= _MAX_NUMBER_TEXT and _DECIMAL.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise _Refused(f"number() cannot read {shown!r} as a number")


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)  # null, true, 1.5, [..], {..}
    except (TypeError, ValueError):
        raise _Refused(f"string() cannot convert {_type_name(value)}") from None
    return _capped_text(text)


def _extreme(function: str, beats: Literal["<", ">"], values: tuple[Any, ...]) -> Any:
    items = values[0] if len(values) == 1 and isinstance(values[0], list | tuple) else values
    if not items:
        raise _Refused(f"{function}() of an empty list has no value")
    best = items[0]
    for item in items:
        if not (_is_number(item) or isinstance(item, str)):
            raise _Refused(f"{function}() compares numbers or strings, not {_type_name(item)}")
        if _compare(beats, item, best):
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
    if not _is_number(ndigits) or isinstance(ndigits, float) or abs(ndigits) > _MAX_ROUND_DIGITS:
        raise _Refused(f"round() takes a whole number of digits between -{_MAX_ROUND_DIGITS} and {_MAX_ROUND_DIGITS}")
    if isinstance(number, int) and ndigits >= 0:
        return number
    if isinstance(number, float) and not math.isfinite(number):
        raise _Refused("round() needs a finite number")
    try:
        exact = Decimal(str(number))
    except ValueError:
        raise _Refused("number is too large to round") from None
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
