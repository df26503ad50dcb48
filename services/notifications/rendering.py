"""Turning a send request into the subject, text and HTML a notification stores (sandboxed Jinja2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2.defaults import DEFAULT_NAMESPACE

from services import errors
from services.notifications.channels.base import MAX_BODY_CHARS, MAX_SUBJECT_CHARS
from services.workflows import templating


@dataclass(frozen=True)
class RenderedContent:
    subject: str
    body: str
    html: str | None
    template_name: str | None = None
    template_version: int | None = None


def check_fields(fields: Mapping[str, str | None], *, prefix: str = "") -> None:
    """Raise ``ValidationFailed`` naming the first field that is not a valid template."""
    problems = [{"field": f"{prefix}{name}", "message": problem} for name, source in fields.items()
                if source is not None and (problem := templating.check_template(source))]
    if problems:
        raise errors.ValidationFailed(f"{problems[0]['field']}: {problems[0]['message']}.", details=problems)


_JINJA_GLOBALS = frozenset(DEFAULT_NAMESPACE)  # range, dict, ...: always there, never a variable to give


def missing_variables(fields: Mapping[str, str | None], variables: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per field lacking some, the variables its template reads that ``variables`` does not give (sorted)."""
    missing: dict[str, list[str]] = {}
    for name, source in fields.items():
        absent = templating.referenced_names(source or "") - _JINJA_GLOBALS - set(variables)
        if absent:
            missing[name] = sorted(absent)
    return missing


def require_variables(fields: Mapping[str, str | None], variables: Mapping[str, Any], *, where: str,
                      field_prefix: str = "") -> None:
    """Raise ``ValidationFailed`` naming every variable the fields read that ``variables`` lacks.

    ``where`` says where they belong ("sample_variables", "variables"), for the message and each detail's field.
    """
    missing = missing_variables(fields, variables)
    if not missing:
        return
    names = sorted({n for absent in missing.values() for n in absent})
    uses = "; ".join(f"{field_prefix}{field} uses {', '.join(absent)}" for field, absent in missing.items())
    raise errors.ValidationFailed(
        f"{where}: missing {', '.join(names)} ({uses}); give {'it' if len(names) == 1 else 'them'} in {where}.",
        details=[{"field": f"{where}.{n}", "message": f"missing: {field_prefix}{field} uses it"}
                 for field, absent in missing.items() for n in absent])


def render_fields(fields: Mapping[str, str | None], variables: Mapping[str, Any], *,
                  prefix: str = "") -> dict[str, str | None]:
    """Each field rendered with ``variables``; a failure names the field."""
    check_fields(fields, prefix=prefix)
    rendered: dict[str, str | None] = {}
    for name, source in fields.items():
        if source is None:
            rendered[name] = None
            continue
        try:
            rendered[name] = templating.render(source, variables)
        except errors.ExecutionFailed as exc:
            field = f"{prefix}{name}"
            raise errors.ValidationFailed(f"{field}: {exc.message}.",
                                          details=[{"field": field, "message": exc.message}]) from exc
    return rendered


def compose(subject: str, body: str, html: str | None, variables: Mapping[str, Any], *, prefix: str = "",
            template_name: str | None = None, template_version: int | None = None) -> RenderedContent:
    """Render the three parts and check the result fits a message."""
    out = render_fields({"subject": subject, "message": body, "html": html}, variables, prefix=prefix)
    rendered = RenderedContent(subject=(out["subject"] or "").strip(), body=out["message"] or "", html=out["html"],
                               template_name=template_name, template_version=template_version)
    if not rendered.body.strip() and not rendered.subject:
        raise errors.ValidationFailed("message: write a message (or a subject), or name a template.",
                                      details=[{"field": "message", "message": "empty"}])
    limits = (("subject", rendered.subject, MAX_SUBJECT_CHARS), ("message", rendered.body, MAX_BODY_CHARS),
              ("html", rendered.html or "", MAX_BODY_CHARS))
    for field, value, limit in limits:
        if len(value) > limit:
            raise errors.ValidationFailed(f"{field}: the rendered text is longer than {limit} characters.",
                                          details=[{"field": field, "message": f"longer than {limit} characters"}])
    return rendered
