"""Dependencies a handler declares in its signature: the DB session, the caller, their IP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from dashboard.api.request_scope import exit_stack_of
from models.user import User
from services import errors
from services.admission import AdmissionGate
from services.analytics.hooks import record_api_call
from services.auth import service as auth
from services.auth.permissions import Permission, require
from services.auth.tokens import AccessClaims
from services.db import end_read_lock, open_read_session, open_session
from services.settings import get_settings

_READ_METHODS = frozenset({"GET", "HEAD"})

# DATABASE_POOL_SIZE reads at once; the others wait their turn here, in arrival order, rather than
# in the connection pool, whose waiters are woken out of order (a newcomer that finds a connection
# free takes it first): with 50 clients on a pool of 10 + 10 some reads waited ten times the median,
# and the overflow connections were closed and opened again all the time. The overflow stays free
# for work that needs a second connection.
READ_GATE = AdmissionGate("reads", limit=lambda: get_settings().database_pool_size,
                          wait_seconds=lambda: get_settings().read_queue_seconds)


async def get_session(request: Request) -> AsyncSession:
    """A read session (no transaction) for GET and HEAD, which never write; a transaction otherwise.

    Closed after the response (``request_scope``), like FastAPI's generator dependencies, without their cost.
    """
    stack = exit_stack_of(request.scope)
    if request.method in _READ_METHODS:
        await stack.enter_async_context(READ_GATE.admitted())
        return await stack.enter_async_context(open_read_session())
    return await stack.enter_async_context(open_session())


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _claims_of(request: Request) -> AccessClaims:
    claims = request.scope.get("state", {}).get("claims")
    if not isinstance(claims, AccessClaims):
        raise errors.AuthenticationFailed("Sign in first: send 'Authorization: Bearer <access token>'.")
    return claims


async def get_claims(request: Request) -> AccessClaims:
    return _claims_of(request)


ClaimsDep = Annotated[AccessClaims, Depends(get_claims)]


async def get_current_user(request: Request, session: SessionDep) -> User:
    # The claims are read here rather than through ClaimsDep: FastAPI solves every dependency
    # again per request (its own parameters, cache key, kind), and this one is on every call.
    user = await auth.authenticate(_claims_of(request), session=session)
    record_api_call(user.id, request.method, getattr(request.scope.get("route"), "path", "") or request.url.path)
    # On SQLite the sign-in read holds the write lock, and work the handler starts on other
    # connections (the engine, AI usage rows) must not wait for the response to finish.
    await end_read_lock(session)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def caller_with(permission: Permission) -> Callable[..., Awaitable[User]]:
    """A dependency: the signed-in user, refused (403) unless their role grants ``permission``."""
    async def caller(user: CurrentUser) -> User:
        require(user.role, permission)
        return user

    return caller


async def get_client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


ClientIP = Annotated[str, Depends(get_client_ip)]
