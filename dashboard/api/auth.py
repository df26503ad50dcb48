"""Sign-up, sign-in, tokens and user administration."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from dashboard.api.deps import ClaimsDep, ClientIP, CurrentUser, SessionDep
from models.auth import LoginRequest, LogoutRequest, RefreshRequest, TokenPair
from models.user import UserCreate, UserPublic, UsersPublic, UserUpdate
from services.auth import service as auth

router = APIRouter(prefix="/auth", tags=["auth"])

PUBLIC_PATHS = ("/auth/register", "/auth/login", "/auth/refresh")


@router.post("/register", response_model=UserPublic, status_code=201)
async def register(body: UserCreate, session: SessionDep, ip: ClientIP) -> UserPublic:
    """Create an account (the first one becomes admin)."""
    user = await auth.register(body, session=session, ip=ip)
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/login", response_model=TokenPair)
async def login(body: LoginRequest, session: SessionDep, ip: ClientIP) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    return await auth.login(body.email, body.password, session=session, ip=ip)


@router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, session: SessionDep, ip: ClientIP) -> TokenPair:
    """Rotate a refresh token into a new pair; a reused token ends its whole sign-in."""
    return await auth.refresh(body.refresh_token, session=session, ip=ip)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(claims: ClaimsDep, session: SessionDep, ip: ClientIP, body: LogoutRequest | None = None) -> Response:
    """End this sign-in (given its refresh token) or every sign-in of the caller."""
    await auth.logout(claims.user_id, body.refresh_token if body else None, session=session, ip=ip)
    return Response(status_code=204)


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return UserPublic.model_validate(user, from_attributes=True)


@router.get("/users", response_model=UsersPublic)
async def list_users(user: CurrentUser, session: SessionDep,
                     offset: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     search: Annotated[str, Query(max_length=200)] = "") -> UsersPublic:
    """A page of users (admin)."""
    return await auth.list_users(user, session=session, offset=offset, limit=limit, search=search)


@router.patch("/users/{user_id}", response_model=UserPublic)
async def update_user(user_id: uuid.UUID, body: UserUpdate, user: CurrentUser, session: SessionDep,
                      ip: ClientIP) -> UserPublic:
    """Change a user's role or active flag (admin)."""
    updated = await auth.update_user(user, user_id, body, session=session, ip=ip)
    return UserPublic.model_validate(updated, from_attributes=True)
