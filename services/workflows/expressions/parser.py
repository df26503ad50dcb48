"""Parsing tokens into an expression tree with a Pratt parser, checking nesting depth and function calls."""

from __future__ import annotations

from typing import Literal, NoReturn

from services.workflows.expressions.functions import FUNCTIONS
from services.workflows.expressions.syntax import (
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    ArithmeticOp,
    Attribute,
    Binary,
    Call,
    Comparison,
    ComparisonOp,
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
from services.workflows.expressions.tokenizer import Token, tokenize

_CONSTANTS: dict[str, bool | None] = {"true": True, "false": False, "null": None,
                                      "True": True, "False": False, "None": None}
_RESERVED = frozenset({"and", "or", "not", "in"})


def parse(source: str) -> Expression:
    """Parse ``source`` into a tree, or raise ExpressionError naming the column at fault."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression is {len(source)} characters long; the limit is {MAX_SOURCE_LENGTH}")
    if not source.strip():
        raise ExpressionError("expression is empty")
    return _Parser(tokenize(source)).parse()


# How tightly each infix operator binds; "not" here is the start of "not in". Prefix "not" binds at
# _NOT_POWER (looser than comparisons) and prefix "-" at _NEGATE_POWER (tighter than "*").
_INFIX_POWER: dict[str, int] = {
    "or": 1, "||": 1, "and": 2, "&&": 2,
    "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4, "not": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, ".": 8, "[": 8}
_NOT_POWER, _COMPARISON_POWER, _NEGATE_POWER = 3, 4, 7
_LOGICAL_OPS: dict[str, Literal["and", "or"]] = {"or": "or", "||": "or", "and": "and", "&&": "and"}
_COMPARISON_OPS: dict[str, ComparisonOp] = {
    "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "in", "not in": "not in"}
_ARITHMETIC_OPS: dict[str, ArithmeticOp] = {"+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}


class _Parser:
    """A Pratt parser: infix operators are one loop, so each nesting level costs only a few Python frames."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse(self) -> Expression:
        node = self._expression(0)
        if self._peek().kind != "end":
            self._fail(self._peek())
        return node

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _at(self, text: str) -> bool:
        token = self._peek()
        return token.kind in ("op", "name") and token.text == text

    def _advance(self) -> Token:
        token = self._peek()
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _expect(self, text: str) -> Token:
        if not self._at(text):
            token = self._peek()
            raise ExpressionError(f"expected '{text}' but found {_describe(token)}", token.position)
        return self._advance()

    def _fail(self, token: Token) -> NoReturn:
        raise ExpressionError(f"unexpected {_describe(token)}", token.position)

    def _descend(self, token: Token) -> None:
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

    def _infix(self, token: Token, left: Expression) -> Expression:
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

    def _nested(self, token: Token) -> Expression:
        if token.text == "-":
            return Negate(self._expression(_NEGATE_POWER), token.position)
        if token.text == "(":
            node = self._expression(0)
            self._expect(")")
            return node
        if token.text == "[":
            return ListValue(self._arguments("]"), token.position)
        return Not(self._expression(_NOT_POWER), token.position)

    def _call(self, name: Token) -> Call:
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


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "end of expression"
    text = token.text if len(token.text) <= 20 else token.text[:20] + "..."
    return {"number": f"number {text}", "string": f"text {text}"}.get(token.kind, f"'{text}'")
