"""Notifications: send, bulk, history, retry, templates, preferences, channels; and the caller's inbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from dashboard.api.deps import CurrentUser, SessionDep
from services.notifications import inbox, preferences, templates
from services.notifications import service as notifications
from services.notifications.channels.base import ChannelInfo
from services.notifications.lookup import channel_health_infos, channel_infos
from services.notifications.schemas import (
    BulkProgress,
    BulkRequest,
    BulkSummary,
    HistoryFilter,
    NotificationDetail,
    NotificationsPublic,
    SendRequest,
    SendResult,
)

router = APIRouter(prefix="/advanced/notifications", tags=["notifications"])
inbox_router = APIRouter(prefix="/inbox", tags=["inbox"])


@router.post("/send", response_model=SendResult, status_code=202)
async def send(body: SendRequest, user: CurrentUser, session: SessionDep) -> SendResult:
    """Queue one notification; the same idempotency key again returns the first one (``duplicate``)."""
    return await notifications.send(user, body, session=session)


@router.post("/bulk", response_model=BulkSummary, status_code=202)
async def bulk(body: BulkRequest, user: CurrentUser, session: SessionDep) -> BulkSummary:
    """One message to up to 10,000 recipients."""
    return await notifications.bulk(user, body, session=session)


@router.get("/bulk/{bulk_id}", response_model=BulkProgress)
async def bulk_progress(bulk_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> BulkProgress:
    """A bulk send's deliveries counted by status (queued, sending, sent, failed, dead)."""
    return await notifications.bulk_progress(user, bulk_id, session=session)


@router.get("/history", response_model=NotificationsPublic)
async def history(user: CurrentUser, session: SessionDep,
                  filters: Annotated[HistoryFilter, Query()]) -> NotificationsPublic:
    """Sent notifications with their delivery status (admins: everyone's)."""
    return await notifications.history(user, filters, session=session)


@router.get("/channels", response_model=list[ChannelInfo])
async def list_channels(_user: CurrentUser, check: Annotated[bool, Query(
        description="Run each channel's live health check (false: only whether it is configured)")] = True,
) -> list[ChannelInfo]:
    """Every channel, whether it is configured here, and (by default) whether its provider answers now."""
    return await channel_health_infos() if check else channel_infos()


@router.get("/preferences", response_model=preferences.Preferences)
async def get_preferences(user: CurrentUser, session: SessionDep) -> preferences.Preferences:
    return await preferences.get(user, session=session)


@router.put("/preferences", response_model=preferences.Preferences)
async def put_preferences(body: preferences.Preferences, user: CurrentUser,
                          session: SessionDep) -> preferences.Preferences:
    return await preferences.put(user, body, session=session)


@router.get("/templates", response_model=list[templates.TemplatePublic])
async def list_templates(_user: CurrentUser, session: SessionDep) -> list[templates.TemplatePublic]:
    return [templates.TemplatePublic.model_validate(t) for t in await templates.get_all(session=session)]


@router.post("/templates", response_model=templates.TemplatePublic, status_code=201)
async def create_template(body: templates.TemplateCreate, user: CurrentUser,
                          session: SessionDep) -> templates.TemplatePublic:
    return templates.TemplatePublic.model_validate(await templates.create(user, body, session=session))


@router.post("/templates/preview", response_model=templates.PreviewPublic)
async def preview_template(body: templates.TemplatePreview, _user: CurrentUser) -> templates.PreviewPublic:
    return templates.preview(body)


@router.get("/templates/{name}", response_model=templates.TemplatePublic)
async def get_template(name: str, _user: CurrentUser, session: SessionDep,
                       version: Annotated[int | None, Query(ge=1)] = None) -> templates.TemplatePublic:
    return templates.TemplatePublic.model_validate(await templates.get(name, session=session, version=version))


@router.put("/templates/{name}", response_model=templates.TemplatePublic)
async def update_template(name: str, body: templates.TemplateWrite, user: CurrentUser,
                          session: SessionDep) -> templates.TemplatePublic:
    """Save a new version."""
    return templates.TemplatePublic.model_validate(await templates.update(user, name, body, session=session))


@router.delete("/templates/{name}", status_code=204)
async def delete_template(name: str, user: CurrentUser, session: SessionDep) -> Response:
    await templates.delete_all_versions(user, name, session=session)
    return Response(status_code=204)


@router.get("/{notification_id}", response_model=NotificationDetail)
async def get_notification(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> NotificationDetail:
    return await notifications.get(user, notification_id, session=session)


@router.post("/{notification_id}/retry", response_model=SendResult, status_code=202)
async def retry(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> SendResult:
    return await notifications.retry(user, notification_id, session=session)


@inbox_router.get("", response_model=inbox.InboxPage)
async def list_inbox(user: CurrentUser, session: SessionDep,
                     filters: Annotated[inbox.InboxFilter, Query()]) -> inbox.InboxPage:
    """Your in-app notifications and the unread count."""
    return await inbox.get_all(user, filters, session=session)


@inbox_router.post("/read-all", status_code=204)
async def read_all(user: CurrentUser, session: SessionDep) -> Response:
    await inbox.mark_all_read(user, session=session)
    return Response(status_code=204)


@inbox_router.post("/{notification_id}/read", status_code=204)
async def mark_read(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    await inbox.mark_read(user, notification_id, session=session)
    return Response(status_code=204)


@inbox_router.post("/{notification_id}/unread", status_code=204)
async def mark_unread(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    await inbox.mark_unread(user, notification_id, session=session)
    return Response(status_code=204)


@inbox_router.post("/{notification_id}/archive", status_code=204)
async def archive(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    await inbox.archive(user, notification_id, session=session)
    return Response(status_code=204)
