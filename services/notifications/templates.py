"""Named, versioned notification templates: saving a change adds a version; old versions stay readable.

Saving checks that the channel is registered and that every variable the subject, body and HTML read is
declared in ``sample_variables`` (with an example value, which the preview uses); a send with the template
must then give each of them (``services.notifications.service``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.notification import NotificationTemplate
from models.user import User
from services import errors
from services.auth.audit import record_audit
from services.auth.permissions import Permission, require
from services.notifications import rendering
from services.notifications.channels.base import MAX_BODY_CHARS, MAX_SUBJECT_CHARS
from services.notifications.channels.registry import CHANNELS
from services.notifications.lookup import ChannelLookup, registry_channel


class TemplateWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=30)
    subject: str = Field(default="", max_length=MAX_SUBJECT_CHARS)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    html: str | None = Field(default=None, max_length=MAX_BODY_CHARS)
    sample_variables: dict[str, Any] = Field(default_factory=dict)


class TemplateCreate(TemplateWrite):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")


class TemplatePreview(TemplateWrite):
    variables: dict[str, Any] | None = Field(default=None, description="None: the sample variables.")


class TemplatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    channel: str
    version: int
    subject: str
    body: str
    html: str | None
    sample_variables: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime


class PreviewPublic(BaseModel):
    subject: str
    body: str
    html: str | None


def _fields(data: TemplateWrite) -> dict[str, str | None]:
    return {"subject": data.subject, "body": data.body, "html": data.html}


def _validate(data: TemplateWrite, channels: ChannelLookup) -> None:
    """A registered channel; the syntax of every field; every variable they read declared in the sample
    variables; then a render with those, so a saved template renders."""
    try:
        channels(data.channel)
    except (LookupError, errors.DomainError) as exc:
        raise errors.ValidationFailed(
            f"channel: there is no notification channel {data.channel!r}; use one of {', '.join(CHANNELS)}.",
            details=[{"field": "channel", "message": "unknown channel"}]) from exc
    rendering.check_fields(_fields(data))
    rendering.require_variables(_fields(data), data.sample_variables, where="sample_variables")
    rendering.render_fields(_fields(data), data.sample_variables)


async def get(name: str, *, session: AsyncSession, version: int | None = None) -> NotificationTemplate:
    """The template's ``version`` (default: newest); ``NotFound`` naming what is missing."""
    query = select(NotificationTemplate).where(col(NotificationTemplate.name) == name)
    if version is not None:
        query = query.where(col(NotificationTemplate.version) == version)
    found = (await session.exec(query.order_by(col(NotificationTemplate.version).desc()).limit(1))).first()
    if found is None:
        suffix = f" version {version}" if version is not None else ""
        raise errors.NotFound(f"There is no notification template {name!r}{suffix}.",
                              details=[{"field": "template.name", "message": "unknown template"}])
    return found


async def get_all(*, session: AsyncSession) -> list[NotificationTemplate]:
    """The newest version of every template, by name."""
    newest = (select(NotificationTemplate.name, func.max(NotificationTemplate.version).label("v"))
              .group_by(col(NotificationTemplate.name)).subquery())
    query = select(NotificationTemplate).join(newest, (col(NotificationTemplate.name) == newest.c.name)
                                              & (col(NotificationTemplate.version) == newest.c.v))
    return list((await session.exec(query.order_by(col(NotificationTemplate.name)))).all())


async def create(actor: User, data: TemplateCreate, *, session: AsyncSession,
                 channels: ChannelLookup = registry_channel) -> NotificationTemplate:
    require(actor.role, Permission.SEND_NOTIFICATIONS)
    _validate(data, channels)
    existing = (await session.exec(select(NotificationTemplate.id).where(
        col(NotificationTemplate.name) == data.name).limit(1))).first()
    if existing is not None:
        raise errors.Conflict(f"A template named {data.name!r} exists; save a new version of it instead.",
                              details=[{"field": "name", "message": "taken"}])
    template = NotificationTemplate(**data.model_dump(), version=1, created_by=actor.id)
    session.add(template)
    record_audit(session, "template_created", actor_id=actor.id, target=f"template:{data.name}")
    await session.commit()
    return template


async def update(actor: User, name: str, data: TemplateWrite, *, session: AsyncSession,
                 channels: ChannelLookup = registry_channel) -> NotificationTemplate:
    """Save ``data`` as the next version of ``name``."""
    require(actor.role, Permission.SEND_NOTIFICATIONS)
    current = await get(name, session=session)
    _validate(data, channels)
    template = NotificationTemplate(**data.model_dump(), name=name, version=current.version + 1, created_by=actor.id)
    session.add(template)
    record_audit(session, "template_updated", actor_id=actor.id, target=f"template:{name}",
                 details={"version": current.version + 1})
    await session.commit()
    return template


async def delete_all_versions(actor: User, name: str, *, session: AsyncSession) -> None:
    require(actor.role, Permission.SEND_NOTIFICATIONS)
    await get(name, session=session)
    await session.exec(delete(NotificationTemplate).where(col(NotificationTemplate.name) == name))
    record_audit(session, "template_deleted", actor_id=actor.id, target=f"template:{name}")
    await session.commit()


def preview(data: TemplatePreview) -> PreviewPublic:
    """Render without saving (the editor's live preview)."""
    variables = data.variables if data.variables is not None else data.sample_variables
    rendering.check_fields(_fields(data))
    rendering.require_variables(_fields(data), variables,
                                where="variables" if data.variables is not None else "sample_variables")
    out = rendering.render_fields(_fields(data), variables)
    return PreviewPublic(subject=out["subject"] or "", body=out["body"] or "", html=out["html"])
