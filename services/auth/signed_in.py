"""Who a verified access token belongs to, remembered for a few seconds.

Every authenticated API call needs the caller's row: is the account active, which role does it
have now, is the token's generation still current? Reading it is a primary-key query that cost
about a fifth of the CPU of a list read. The row (never its password hash) is kept in the cache
service's ``auth`` namespace for ``AUTH_USER_CACHE_SECONDS`` (0 turns this off). Every change that
decides a sign-in — sign-out everywhere, a role, the active flag — forgets it after its commit, and
the tiered cache broadcasts that to every process; a lookup that raced such a change holds the old
row for at most those seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import manager_of_class

from models.user import Role, User
from services.cache.service import get_cache
from services.settings import get_settings

NAMESPACE = "auth"
_DATES = ("created_at", "updated_at", "last_login_at")


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _snapshot(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "email": user.email, "full_name": user.full_name, "role": user.role.value,
            "is_active": user.is_active, "token_generation": user.token_generation,
            **{name: (value.isoformat() if (value := getattr(user, name)) is not None else None) for name in _DATES}}


_USERS = manager_of_class(User)


def _user(snapshot: dict[str, Any]) -> User:
    """A detached ``User`` for reading (id, role, names, dates); it carries no password hash.

    Made the way the ORM makes a loaded row (a bare instance, then its attributes), not through
    ``User(...)``, whose validating constructor cost 30 µs of every authenticated call: the
    snapshot was taken from a row, there is nothing to validate.
    """
    if not _USERS.mapper.configured:
        configure_mappers()  # what User(...) would have done: a fresh process may not have yet
    user: User = _USERS.new_instance()
    user.__dict__.update(id=uuid.UUID(snapshot["id"]), email=snapshot["email"], full_name=snapshot["full_name"],
                         password_hash="", role=Role(snapshot["role"]), is_active=snapshot["is_active"],
                         token_generation=snapshot["token_generation"],
                         **{name: _when(snapshot[name]) for name in _DATES})
    return user


async def signed_in_user(user_id: uuid.UUID, load: Callable[[], Awaitable[User | None]]) -> User | None:
    """The user with ``user_id``: from the cache when it was read in the last few seconds, else ``load()``."""
    ttl = get_settings().auth_user_cache_seconds
    if ttl <= 0:
        return await load()
    cache = get_cache()
    snapshot = await cache.get(NAMESPACE, str(user_id))
    if isinstance(snapshot, dict):
        return _user(snapshot)
    user = await load()
    if user is not None:
        await cache.set(NAMESPACE, str(user_id), _snapshot(user), ttl=ttl)
    return user


async def forget_signed_in_user(user_id: uuid.UUID) -> None:
    """Drop the remembered row (in every process), after a change that decides sign-ins was committed."""
    if get_settings().auth_user_cache_seconds > 0:
        await get_cache().delete(NAMESPACE, str(user_id))
