"""Turning a send request into the subject, text and HTML a notification stores (sandboxed Jinja2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
