"""Turning source text into tokens: numbers, strings, names and operators, each with its offset."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

from services.workflows.expressions.syntax import ExpressionError

TokenKind: TypeAlias = Literal["number", "string", "name", "op", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``value`` is the number or the unescaped text for literals, else None."""

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


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an "end" token; raises ExpressionError on bad characters."""
    tokens: list[Token] = []
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
            tokens.append(Token("name", source[i:end], None, i))
            i = end
        else:
            op = next((op for op in _OPERATORS if source.startswith(op, i)), None)
            if op is None:
                hint = " (use '==' to compare)" if char == "=" else ""
                raise ExpressionError(f"unexpected character {char!r}{hint}", i)
            tokens.append(Token("op", op, None, i))
            i += len(op)
    tokens.append(Token("end", "", None, len(source)))
    return tokens


def _read_digits(source: str, i: int) -> int:
    while i < len(source) and source[i] in _DIGITS:
        i += 1
    return i


def _read_number(source: str, start: int) -> Token:
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
    return Token("number", text, value, start)


def _read_string(source: str, start: int) -> tuple[Token, int]:
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
    return Token("string", source[start:i + 1], "".join(chars), start), i + 1
