"""Sign-up, sign-in, token rotation, sign-out and user administration.

Every public function takes the session keyword-only and commits once, at its end.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.auth import TokenPair
from models.base import utcnow
from models.refresh_token import RefreshToken
from models.user import Role, User, UserCreate, UserPublic, UsersPublic, UserUpdate
from services import errors
from services.analytics.hooks import record_login
from services.auth import passwords, tokens
from services.auth.audit import record_audit
from services.auth.permissions import Permission, require
from services.auth.rate_limit import login_failures
from services.auth.signed_in import forget_signed_in_user, signed_in_user

_BAD_CREDENTIALS = "The email or password is incorrect."


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively: store and look them up lower-cased."""
    return email.strip().lower()


async def get_by_email(email: str, *, session: AsyncSession) -> User | None:
    """The user with ``email`` (any case), if any."""
    result = await session.exec(select(User).where(User.email == normalize_email(email)))
    return result.first()


async def register(data: UserCreate, *, session: AsyncSession, ip: str = "") -> User:
    """Create an account. The first account becomes admin; later ones start as viewers."""
    email = normalize_email(str(data.email))
    passwords.require_acceptable(data.password, email=email)
    if await get_by_email(email, session=session) is not None:
        raise errors.Conflict("An account with this email already exists; sign in instead.",
                              details=[{"field": "email", "message": "already registered"}])
    await _serialize_registrations(session)
    is_first = await count_users(session=session) == 0
    user = User(email=email, full_name=data.full_name.strip(), role=Role.ADMIN if is_first else Role.VIEWER,
                password_hash=await passwords.hash_password(data.password))
    session.add(user)
    await session.flush()  # the audit row refers to the user
    record_audit(session, "register", actor_id=user.id, target=f"user:{user.id}", ip=ip,
                 details={"role": user.role.value})
    await session.commit()
    return user


async def _serialize_registrations(session: AsyncSession) -> None:
    """Make "is this the first account?" race-free: two sign-ups at once must not both become admin.

    PostgreSQL: a transaction-scoped advisory lock. SQLite already serialises writers, and a
    writer whose snapshot went stale fails instead of committing.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.exec(text("SELECT pg_advisory_xact_lock(hashtext('dwc:register'))"))  # type: ignore[call-overload]


async def login(email: str, password: str, *, session: AsyncSession, ip: str = "") -> TokenPair:
    """Check credentials and open a new token family; rate-limited per email and IP."""
    email = normalize_email(email)
    limiter_key = f"{email}|{ip}"
    verdict = await login_failures().check(limiter_key)
    if not verdict.allowed:
        raise errors.RateLimited(
            f"Too many failed sign-ins; try again in {verdict.retry_after} seconds.", retry_after=verdict.retry_after)
    user = await get_by_email(email, session=session)
    valid = await passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        await login_failures().add_failure(limiter_key)
        record_audit(session, "login_failed", actor_id=user.id if user else None, target=f"email:{email}", ip=ip,
                     details={"reason": "inactive" if user and valid else "bad_credentials"})
        await session.commit()
        if user is not None and valid and not user.is_active:
            raise errors.AuthenticationFailed("This account is deactivated; ask an admin to reactivate it.")
        raise errors.AuthenticationFailed(_BAD_CREDENTIALS)
    await login_failures().reset(limiter_key)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash_password(password)
    user.last_login_at = utcnow()
    session.add(user)
    pair = _issue_pair(user, family_id=uuid.uuid4(), session=session)
    record_audit(session, "login", actor_id=user.id, target=f"user:{user.id}", ip=ip)
    await session.commit()
    await forget_signed_in_user(user.id)  # the row's last_login_at moved
    record_login(user.id)
    return pair


def _issue_pair(user: User, *, family_id: uuid.UUID, session: AsyncSession) -> TokenPair:
    secret = tokens.new_refresh_secret()
    session.add(RefreshToken(user_id=user.id, family_id=family_id, token_hash=tokens.hash_refresh_secret(secret),
                             expires_at=utcnow() + tokens.refresh_lifetime()))
    access = tokens.issue_access_token(user.id, user.role, user.token_generation)
    return TokenPair(access_token=access.token, refresh_token=secret, expires_in=access.expires_in)


async def _revoke_family(family_id: uuid.UUID, *, session: AsyncSession) -> None:
    await session.exec(update(RefreshToken)
                       .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
                       .values(revoked_at=utcnow()))


async def refresh(refresh_token: str, *, session: AsyncSession, ip: str = "") -> TokenPair:
    """Swap a refresh token for a new pair. Replaying a used token revokes its whole family."""
    found = (await session.exec(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.hash_refresh_secret(refresh_token)))).first()
    if found is None:
        raise errors.AuthenticationFailed("The refresh token is not valid; sign in again.")
    if found.expires_at <= utcnow():
        raise errors.AuthenticationFailed("Your session has expired; sign in again.")
    claimed = await session.exec(update(RefreshToken)
                                 .where(col(RefreshToken.id) == found.id, col(RefreshToken.rotated_at).is_(None),
                                        col(RefreshToken.revoked_at).is_(None))
                                 .values(rotated_at=utcnow()))
    if claimed.rowcount != 1:
        await _revoke_family(found.family_id, session=session)
        record_audit(session, "refresh_reuse", actor_id=found.user_id, target=f"family:{found.family_id}", ip=ip)
        await session.commit()
        raise errors.AuthenticationFailed(
            "This refresh token was already used, so every session of that sign-in was ended; sign in again.")
    user = await session.get(User, found.user_id)
    if user is None or not user.is_active:
        await session.rollback()
        raise errors.AuthenticationFailed("This account is no longer active.")
    pair = _issue_pair(user, family_id=found.family_id, session=session)
    await session.commit()
    return pair


async def logout(user_id: uuid.UUID, refresh_token: str | None, *, session: AsyncSession, ip: str = "") -> None:
    """End one sign-in (its refresh-token family), or every sign-in when no token is given."""
    if refresh_token:
        found = (await session.exec(select(RefreshToken).where(
            RefreshToken.token_hash == tokens.hash_refresh_secret(refresh_token),
            RefreshToken.user_id == user_id))).first()
        if found is not None:
            await _revoke_family(found.family_id, session=session)
    else:
        await session.exec(update(RefreshToken)
                           .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
                           .values(revoked_at=utcnow()))
        # Every access token issued so far stops working too, not only when it expires.
        await session.exec(update(User).where(col(User.id) == user_id)
                           .values(token_generation=User.token_generation + 1))
    record_audit(session, "logout", actor_id=user_id, target=f"user:{user_id}", ip=ip,
                 details={"scope": "session" if refresh_token else "all"})
    await session.commit()
    if not refresh_token:
        await forget_signed_in_user(user_id)


async def authenticate(claims: tokens.AccessClaims, *, session: AsyncSession) -> User:
    """The active user behind verified token claims (the role comes from the database, not the token).

    The row may be a few seconds old (``services.auth.signed_in``); changes to it forget it at once.
    """
    user = await signed_in_user(claims.user_id, lambda: session.get(User, claims.user_id))
    if user is None or not user.is_active:
        raise errors.AuthenticationFailed("This account is no longer active; sign in again.")
    if claims.generation != user.token_generation:
        raise errors.AuthenticationFailed("This sign-in was ended (signed out everywhere); sign in again.")
    return user


async def list_users(actor: User, *, session: AsyncSession, offset: int = 0, limit: int = 50,
                     search: str = "") -> UsersPublic:
    """A page of users, newest first; admins only."""
    require(actor.role, Permission.MANAGE_USERS)
    query = select(User)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(or_(col(User.email).like(pattern), func.lower(User.full_name).like(pattern)))
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(query.order_by(col(User.created_at).desc()).offset(offset).limit(limit))
    return UsersPublic(data=[UserPublic.model_validate(u, from_attributes=True) for u in rows], count=total)


async def update_user(actor: User, user_id: uuid.UUID, changes: UserUpdate, *, session: AsyncSession,
                      ip: str = "") -> User:
    """Change a user's role, active flag or name; admins only; the last admin stays an admin."""
    require(actor.role, Permission.MANAGE_USERS)
    user = await session.get(User, user_id)
    if user is None:
        raise errors.NotFound("No user with this id.")
    demoting = changes.role is not None and changes.role != Role.ADMIN
    deactivating = changes.is_active is False
    if user.role == Role.ADMIN and (demoting or deactivating):
        admins = (await session.exec(select(func.count()).select_from(User).where(
            User.role == Role.ADMIN, col(User.is_active).is_(True)))).one()
        if admins <= 1:
            raise errors.Conflict("This is the last active admin; make someone else admin first.")
    if changes.role is not None and changes.role != user.role:
        record_audit(session, "role_change", actor_id=actor.id, target=f"user:{user.id}", ip=ip,
                     details={"from": user.role.value, "to": changes.role.value})
        user.role = changes.role
    if changes.is_active is not None and changes.is_active != user.is_active:
        record_audit(session, "activate" if changes.is_active else "deactivate", actor_id=actor.id,
                     target=f"user:{user.id}", ip=ip)
        user.is_active = changes.is_active
        if not changes.is_active:
            user.token_generation += 1  # tokens from before stay dead if the account comes back
    if changes.full_name is not None:
        user.full_name = changes.full_name.strip()
    user.updated_at = utcnow()
    session.add(user)
    await session.commit()
    await forget_signed_in_user(user.id)
    return user


async def count_users(*, session: AsyncSession) -> int:
    """How many accounts exist."""
    return int((await session.exec(select(func.count()).select_from(User))).one())
