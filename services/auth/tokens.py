"""Short-lived JWT access tokens (HS256) and opaque refresh-token secrets.

JWTs are signed with ``joserfc``, the JOSE library of the Authlib project (Authlib 1.9
deprecates its own ``authlib.jose`` in favour of it and depends on it).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from time import time as _now

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from models.base import utcnow
from models.user import Role
from services import errors
from services.settings import get_settings

_ALGORITHM = "HS256"
_ISSUER = "dwc"
_LEEWAY_SECONDS = 5


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says about its bearer."""

    user_id: uuid.UUID
    role: Role
    jti: str
    expires_at: int
    generation: int = 0  # the user's token generation when issued; "sign out everywhere" moves it on


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int


def _key() -> OctKey:
    return OctKey.import_key(get_settings().signing_secret())


def issue_access_token(user_id: uuid.UUID, role: Role, generation: int = 0) -> IssuedAccessToken:
    """Sign an access token for ``user_id`` valid for ``ACCESS_TOKEN_MINUTES``, of token ``generation``."""
    lifetime = get_settings().access_token_minutes * 60
    now = int(utcnow().timestamp())
    claims = {"sub": str(user_id), "role": role.value, "iat": now, "exp": now + lifetime,
              "jti": uuid.uuid4().hex, "iss": _ISSUER, "gen": generation}
    token = jwt.encode({"alg": _ALGORITHM}, claims, _key(), algorithms=[_ALGORITHM])
    return IssuedAccessToken(token=token, expires_in=lifetime)


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> AccessClaims:
    """Signature, issuer and required claims of ``token``, checked once per process and secret.

    Verifying costs an HMAC and a JSON parse on every API call; a token is reused for its whole
    lifetime, so its verified claims are remembered (a forged or altered token is a different key,
    and a failure raises, which is never remembered). Expiry is checked again on every use.
    """
    decoded = jwt.decode(token, OctKey.import_key(secret), algorithms=[_ALGORITHM])
    registry = jwt.JWTClaimsRegistry(leeway=_LEEWAY_SECONDS, iss={"essential": True, "value": _ISSUER},
                                     exp={"essential": True}, sub={"essential": True},
                                     jti={"essential": True})
    registry.validate(decoded.claims)
    claims = decoded.claims
    return AccessClaims(user_id=uuid.UUID(claims["sub"]), role=Role(claims["role"]), jti=str(claims["jti"]),
                        expires_at=int(claims["exp"]), generation=int(claims.get("gen", 0)))


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, issuer and expiry; raise ``AuthenticationFailed`` otherwise."""
    try:
        claims = _verified(token, get_settings().signing_secret())
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        message = "Your session has expired; sign in again." if "expired" in str(exc).lower() else (
            "The access token is not valid; sign in again.")
        raise errors.AuthenticationFailed(message) from exc
    if claims.expires_at + _LEEWAY_SECONDS < _now():
        raise errors.AuthenticationFailed("Your session has expired; sign in again.")
    return claims


def new_refresh_secret() -> str:
    """A fresh opaque refresh token (returned once, stored only as its hash)."""
    return secrets.token_urlsafe(32)


def hash_refresh_secret(secret: str) -> str:
    """SHA-256 of a refresh token: enough for a 256-bit random secret, and indexable."""
    return hashlib.sha256(secret.encode()).hexdigest()


def refresh_lifetime() -> timedelta:
    return timedelta(days=get_settings().refresh_token_days)
