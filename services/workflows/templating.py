"""Sandboxed Jinja2 for every template a user writes (node prompts, bodies, titles).

Templates see upstream node outputs by node id (``{{ draft.content }}``), the run's parameters
as ``params`` and, inside a map node, the current ``item``. The sandbox refuses attribute access
to Python internals, ``range`` is capped, and output is capped so a template cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.nodes import Template as TemplateAst
from jinja2.sandbox import ImmutableSandboxedEnvironment

from services import errors

RESERVED_NAMES = frozenset({"params", "run", "item", "index", "loop", "range", "dict", "lipsum", "cycler", "joiner",
                            "namespace", "true", "false", "none", "True", "False", "None"})
MAX_TEMPLATE_CHARS = 200_000
MAX_OUTPUT_CHARS = 2_000_000

_environment = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)


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


def render(source: str, variables: Mapping[str, Any]) -> str:
    """Render ``source`` in the sandbox; failures become a non-retryable ``ExecutionFailed``."""
    problem = check_template(source)
    if problem:
        raise errors.ExecutionFailed(problem)
    try:
        template = _environment.from_string(source)
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
