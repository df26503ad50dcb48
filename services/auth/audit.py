"""Writing the audit log. Entries join the caller's transaction; the service commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import AuditLog


def record_audit(session: AsyncSession, action: str, *, actor_id: uuid.UUID | None, target: str = "",
                 ip: str = "", details: dict[str, Any] | None = None) -> AuditLog:
    """Add an audit entry to ``session`` (flushed with the caller's commit)."""
    entry = AuditLog(actor_id=actor_id, action=action, target=target[:255], ip=ip[:64], details=details or {})
    session.add(entry)
    return entry
