"""What the overview shows about an account: its sessions and recent security activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import AuditLog
from models.base import utcnow
from models.refresh_token import RefreshToken
from models.user import User
from services.auth.service import count_users


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    action: str
    ip: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AccountOverview:
    """Counts that exist so far, read from the database (nothing invented)."""

    users_total: int
    active_sign_ins: int
    failed_sign_ins_30d: int
    recent: list[ActivityEntry]


async def account_overview(user: User, *, session: AsyncSession, recent_limit: int = 8) -> AccountOverview:
    """The signed-in user's overview: accounts, live sign-ins, failed attempts, recent activity."""
    users_total = await count_users(session=session)
    active = (await session.exec(select(func.count(func.distinct(RefreshToken.family_id))).where(
        RefreshToken.user_id == user.id, col(RefreshToken.revoked_at).is_(None),
        col(RefreshToken.rotated_at).is_(None), RefreshToken.expires_at > utcnow()))).one()
    failed = (await session.exec(select(func.count()).select_from(AuditLog).where(
        AuditLog.actor_id == user.id, AuditLog.action == "login_failed",
        AuditLog.created_at >= utcnow() - timedelta(days=30)))).one()
    rows = await session.exec(select(AuditLog).where(AuditLog.actor_id == user.id)
                              .order_by(col(AuditLog.created_at).desc()).limit(recent_limit))
    return AccountOverview(users_total=users_total, active_sign_ins=active, failed_sign_ins_30d=failed,
                           recent=[ActivityEntry(r.action, r.ip, r.created_at) for r in rows])
