"""Sandboxed Jinja2 for every template a user writes (node prompts, bodies, titles).

Templates see upstream node outputs by node id (``{{ draft.content }}``), the run's parameters
as ``params`` and, inside a map node, the current ``item``. The sandbox refuses attribute access
to Python internals, ``range`` is capped, and output is capped so a template cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.nodes import Template as TemplateAst
from jinja2.sandbox import ImmutableSandboxedEnvironment

from services import errors

RESERVED_NAMES = frozenset({"params", "run", "item", "index", "loop", "range", "dict", "lipsum", "cycler", "joiner",
                            "namespace", "true", "false", "none", "True", "False", "None"})
MAX_TEMPLATE_CHARS = 200_000
MAX_OUTPUT_CHARS = 2_000_000

MAX_EXPONENT = 1_000
MAX_POWER_BITS = 100_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, stricter in two ways.

    Jinja answers an unsafe attribute (``''.__class__``) with an undefined value that renders as
    nothing, so ``{{ ''.__class__.__mro__ }}`` would quietly print an empty string: here it fails,
    so the author learns the template was refused. And ``*`` / ``**`` are checked before they
    compute, so ``'a' * 10**9`` or ``9**9**9`` cannot exhaust memory or CPU before the output cap.
    """

    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int) and \
                        len(sequence) * times > MAX_OUTPUT_CHARS:
                    raise SecurityError(f"the repetition would be longer than {MAX_OUTPUT_CHARS} items")
        if operator == "**" and isinstance(right, int | float) and (
                abs(right) > MAX_EXPONENT or (isinstance(left, int) and left.bit_length() * right > MAX_POWER_BITS)):
            raise SecurityError(f"the power is too large (exponents up to {MAX_EXPONENT}, results up to "
                                f"{MAX_POWER_BITS} bits)")
        return super().call_binop(context, operator, left, right)


_environment = _Sandbox(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=512)
def _parse(source: str) -> TemplateAst:
    return _environment.parse(source)


def check_template(source: str) -> str | None:
    """A sentence saying why ``source`` is not a valid template, or None."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return f"the template is longer than {MAX_TEMPLATE_CHARS} characters"
    try:
        _parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message}"
    return None


def referenced_names(source: str) -> set[str]:
    """The top-level names a template reads (node ids, ``params``...); empty if it does not parse."""
    return set(_referenced_names(source))


@lru_cache(maxsize=2048)
def _referenced_names(source: str) -> frozenset[str]:
    # Walking Jinja's AST costs ~0.5 ms a template; the builder validates the whole graph on each edit.
    try:
        return frozenset(meta.find_undeclared_variables(_parse(source)))
    except TemplateSyntaxError:
        return frozenset()


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    # Compiling to Python costs ~0.3 ms a template and every run of a workflow renders the same ones; a
    # compiled template keeps no state between renders.
    return _environment.from_string(source)


def render(source: str, variables: Mapping[str, Any]) -> str:
    """Render ``source`` in the sandbox; failures become a non-retryable ``ExecutionFailed``."""
    problem = check_template(source)
    if problem:
        raise errors.ExecutionFailed(problem)
    try:
        template = _compiled(source)
        pieces: list[str] = []
        size = 0
        for piece in template.generate(dict(variables)):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise errors.ExecutionFailed(f"the template produced more than {MAX_OUTPUT_CHARS} characters")
            pieces.append(piece)
        return "".join(pieces)
    except SecurityError as exc:
        raise errors.ExecutionFailed(f"the template tried something the sandbox forbids: {exc}") from exc
    except TemplateError as exc:
        raise errors.ExecutionFailed(f"the template failed: {exc}") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise errors.ExecutionFailed(f"the template failed: {exc}") from exc
