"""``{{ name }}`` and ``{{ a.b }}`` substitution for prompts that arrive unrendered.

The workflow engine renders prompts in a Jinja sandbox before they reach a provider; this is the
fallback for direct callers, and deliberately understands nothing beyond dotted lookups.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.\w+)*)\s*\}\}")
_MISSING = object()


def fill_placeholders(template: str, variables: Mapping[str, Any]) -> tuple[str, list[str]]:
    """``template`` with each resolvable placeholder replaced, and the names left unresolved.

    Unresolved placeholders stay in the text as written, so a missing variable is visible.
    Mappings and lists are written as JSON; other values with ``str``.
    """
    unresolved: list[str] = []

    def replace(match: re.Match[str]) -> str:
        value = _lookup(variables, match.group(1).split("."))
        if value is _MISSING:
            unresolved.append(match.group(1))
            return match.group(0)
        if isinstance(value, Mapping | list | tuple):
            return json.dumps(value, ensure_ascii=False, default=str)
        return str(value)

    return _PLACEHOLDER.sub(replace, template), unresolved


def _lookup(value: Any, path: list[str]) -> Any:
    for key in path:
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, Sequence) and not isinstance(value, str) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value
