"""Writing the audit log. Entries join the caller's transaction; the service commits.

The client IP and request id come from the request context (``services.observability.context``)
that the API middleware or the UI event bound, unless the caller passes an IP explicitly.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import AuditLog
from models.base import utcnow
from services.observability.context import current_client_ip, current_request_id

AUDIT_LOG: Table = AuditLog.__table__  # type: ignore[attr-defined]


def record_audit(session: AsyncSession, action: str, *, actor_id: uuid.UUID | None, target: str = "",
                 ip: str = "", details: dict[str, Any] | None = None) -> AuditLog:
    """Add an audit entry to ``session`` (flushed with the caller's commit)."""
    entry = AuditLog(**audit_values(action, actor_id=actor_id, target=target, ip=ip, details=details))
    session.add(entry)
    return entry


def audit_values(action: str, *, actor_id: uuid.UUID | None, target: str = "", ip: str = "",
                 details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of an audit entry, for a Core ``insert(AUDIT_LOG)`` in the caller's statement or transaction."""
    return {"id": uuid.uuid4(), "actor_id": actor_id, "action": action, "target": target[:255],
            "ip": (ip or current_client_ip())[:64], "request_id": current_request_id()[:64], "created_at": utcnow(),
            "details": details or {}}

