"""A node type's JSON Schema as the builder's side-panel form, and a form input back into config values.

``form_fields`` turns a node's config (and what is upstream of it, for the ``{{ }}`` hints) into
``FormField`` rows the page renders; ``parse_field`` turns what was typed back into the value the
schema wants, or says in a sentence why it cannot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services import errors
from services.workflows.nodes.registry import catalogue

CATALOGUE: dict[str, dict[str, Any]] = {entry["type"]: entry for entry in catalogue()}
_COMMON_FIELDS = ("timeout_seconds", "retries", "retry_backoff_seconds")
HINT_NAMES = 8  # upstream nodes named in a field's hint; a long chain would bury the hint
HINT_FIELDS = 6  # declared fields named per upstream node
_LONG_TEXT = frozenset({"prompt", "system", "template", "message", "body", "source", "instructions"})


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text, textarea, number, boolean, select, list, json
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    description: str = ""
    required: bool = False
    hint: str = ""


def field_kind(prop: dict[str, Any], name: str, node_type: dict[str, Any]) -> str:
    """The input that edits a config property, from its JSON Schema."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    kind = options[0] if options else prop
    if "enum" in kind:
        return "select"
    return {"boolean": "boolean", "integer": "number", "number": "number", "array": "list"}.get(
        str(kind.get("type")), "json" if kind.get("type") == "object" or "$ref" in kind else
        ("textarea" if name in _LONG_TEXT or name in node_type["template_fields"] else "text"))


def form_fields(node: dict[str, Any], upstream: list[str],
                upstream_fields: dict[str, list[str]] | None = None) -> list[FormField]:
    """The selected node's form: one field per config property, the retry settings last.

    Template fields hint at what they may read: each upstream node's ``content`` and the fields it
    declares (``upstream_fields``, e.g. an input node's run parameters).
    """
    node_type = CATALOGUE.get(node["type"])
    if node_type is None:
        return []
    schema = node_type["config_schema"]
    required = set(schema.get("required", []))
    names = sorted(schema.get("properties", {}), key=lambda n: (n in _COMMON_FIELDS, 0))
    declared = upstream_fields or {}
    shown = ", ".join(f"{{{{ {n}.{name} }}}}" for n in upstream[:HINT_NAMES]
                      for name in ["content", *declared.get(n, [])[:HINT_FIELDS]])
    more = f" (and {len(upstream) - HINT_NAMES} more upstream nodes)" if len(upstream) > HINT_NAMES else ""
    reads = (f"Insert an upstream result with {shown}{more}" if upstream else
             "No upstream node yet: connect one to use its result.")
    hint = reads + " · {{ params.name }} reads a run input."
    result = []
    for name in names:
        prop = schema["properties"][name]
        kind = field_kind(prop, name, node_type)
        value = node["config"].get(name, prop.get("default"))
        items = prop.get("items", {})
        description = str(prop.get("description", ""))
        if kind == "list" and "enum" in items:
            description = (description + " " if description else "") + "Choose from: " + ", ".join(items["enum"])
        result.append(FormField(
            name=name, label=str(prop.get("title", name)), kind=kind, checked=bool(value),
            value=(", ".join(map(str, value)) if kind == "list" and isinstance(value, list) else
                   json.dumps(value) if kind == "json" and value is not None else
                   "" if value is None else str(value)),
            options=[str(o) for o in prop.get("enum", [])], description=description, required=name in required,
            hint=hint if name in node_type["template_fields"] or name in node_type["expression_fields"] else ""))
    return result


def parse_field(prop: dict[str, Any], kind: str, raw: str | bool) -> tuple[bool, Any]:
    """(keep, value) for a form input: ``keep`` False drops the key so the type's default applies."""
    if kind == "boolean":
        return True, bool(raw)
    text = str(raw).strip() if kind != "textarea" else str(raw)
    if kind == "list":
        return True, [part.strip() for part in text.split(",") if part.strip()]
    if text == "":
        return False, None
    if kind == "number":
        try:
            number = float(text)
        except ValueError as exc:
            raise errors.ValidationFailed(f"{prop.get('title', 'This field')} must be a number.") from exc
        integer = any(p.get("type") == "integer" for p in prop.get("anyOf", [prop]))
        return True, int(number) if integer else number
    if kind == "json":
        try:
            return True, json.loads(text)
        except ValueError as exc:
            title = prop.get("title", "This field")
            raise errors.ValidationFailed(f'{title} must be JSON, like {{"a": 1}}.') from exc
    return True, text
