"""The inbox page's Templates tab (editors and admins): edit a template with a live preview; saving adds a version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import reflex as rx
from pydantic import ValidationError

from models.notification import NotificationTemplate
from models.user import Role
from services import errors
from services.auth.permissions import Permission, allows
from services.db import open_read_session, open_session
from services.notifications import templates
from services.notifications.lookup import channel_infos
from state.auth import AuthState
from state.errors import field_errors, form_message

_ROLES_THAT_EDIT_TEMPLATES = frozenset(r.value for r in Role if allows(r, Permission.SEND_NOTIFICATIONS))
NEW = ""  # the selection while writing a template that has no name yet


@dataclass
class TemplateRow:
    name: str
    channel: str
    version: int
    saved: str


def _row(t: NotificationTemplate) -> TemplateRow:
    return TemplateRow(name=t.name, channel=t.channel, version=t.version, saved=t.created_at.strftime("%Y-%m-%d"))


class TemplatesState(AuthState):
    template_rows: list[TemplateRow] = []
    selected: str = NEW
    name: str = ""
    channel: str = "in_app"
    subject: str = ""
    body: str = ""
    sample_json: str = "{}"
    version: int = 0
    preview_subject: str = ""
    preview_body: str = ""
    preview_error: str = ""
    template_field_errors: dict[str, str] = {}
    template_error: str = ""
    template_notice: str = ""
    channel_names: list[str] = []

    @rx.var
    def can_edit_templates(self) -> bool:
        return self.user_role in _ROLES_THAT_EDIT_TEMPLATES

    @rx.var
    def editing_existing(self) -> bool:
        return self.selected != NEW

    def _sample_variables(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.sample_json or "{}")
        except json.JSONDecodeError as exc:
            raise errors.ValidationFailed(
                f"sample_variables: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
                details=[{"field": "sample_variables", "message": f"not valid JSON: {exc.msg}"}]) from exc
        if not isinstance(parsed, dict):
            raise errors.ValidationFailed('sample_variables: write a JSON object, like {"name": "Ada"}.',
                                          details=[{"field": "sample_variables", "message": "not an object"}])
        return parsed

    def _write(self) -> templates.TemplateWrite:
        return templates.TemplateWrite(channel=self.channel, subject=self.subject, body=self.body,
                                       sample_variables=self._sample_variables())

    def _refresh_preview(self) -> None:
        """Render with the sample variables; a problem is shown inline under its field, the preview kept."""
        self.template_field_errors, self.preview_error = {}, ""
        if not self.body.strip():
            self.preview_subject = self.preview_body = ""
            return
        try:
            preview = templates.preview(templates.TemplatePreview(**self._write().model_dump()))
        except (errors.DomainError, ValidationError) as exc:
            self.preview_error, self.template_field_errors = form_message(exc), field_errors(exc)
            return
        self.preview_subject, self.preview_body = preview.subject, preview.body

    async def _reload(self) -> None:
        async with open_read_session() as session:
            await self._signed_in_user(session)
            self.template_rows = [_row(t) for t in await templates.get_all(session=session)]

    @rx.event
    async def load(self) -> None:
        self.template_error = self.template_notice = ""
        self.channel_names = [info.name for info in channel_infos()]
        try:
            await self._reload()
        except errors.DomainError as exc:
            self.template_error = form_message(exc)

    @rx.event
    async def select_template(self, name: str) -> None:
        self.template_error = self.template_notice = ""
        try:
            async with open_session() as session:
                await self._signed_in_user(session)
                template = await templates.get(name, session=session)
        except errors.DomainError as exc:
            self.template_error = form_message(exc)
            return
        self.selected, self.name, self.channel, self.version = template.name, template.name, template.channel, \
            template.version
        self.subject, self.body = template.subject, template.body
        self.sample_json = json.dumps(template.sample_variables, indent=2)
        self._refresh_preview()

    @rx.event
    def new_template(self) -> None:
        self.selected, self.name, self.channel, self.version = NEW, "", "in_app", 0
        self.subject, self.body, self.sample_json = "", "", "{}"
        self.template_error = self.template_notice = ""
        self._refresh_preview()

    @rx.event
    def set_name(self, value: str) -> None:
        self.name = value

    @rx.event
    def set_channel(self, value: str) -> None:
        self.channel = value

    @rx.event
    def set_subject(self, value: str) -> None:
        self.subject = value
        self._refresh_preview()

    @rx.event
    def set_body(self, value: str) -> None:
        self.body = value
        self._refresh_preview()

    @rx.event
    def set_sample_json(self, value: str) -> None:
        self.sample_json = value
        self._refresh_preview()

    @rx.event
    async def save(self) -> None:
        """A new template is created as version 1; a change to an existing one is saved as its next version."""
        self.template_error = self.template_notice = ""
        try:
            data = self._write()
            async with open_session() as session:
                actor = await self._signed_in_user(session)
                if self.editing_existing:
                    saved = await templates.update(actor, self.selected, data, session=session)
                else:
                    saved = await templates.create(actor, templates.TemplateCreate(name=self.name.strip(),
                                                                                   **data.model_dump()),
                                                   session=session)
                self.template_rows = [_row(t) for t in await templates.get_all(session=session)]
        except (errors.DomainError, ValidationError) as exc:
            self.template_error, self.template_field_errors = form_message(exc), field_errors(exc)
            return
        self.selected, self.version = saved.name, saved.version
        self.template_notice = f"Saved {saved.name} as version {saved.version}."
