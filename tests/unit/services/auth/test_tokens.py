"""Access tokens: what they carry and what makes them invalid."""

from __future__ import annotations

import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from models.user import Role
from services import errors
from services.auth import tokens
from services.auth.tokens import decode_access_token, issue_access_token
from services.settings import get_settings
from tests.settings_env import configure


def test_token_carries_sub_role_jti_and_expiry() -> None:
    user_id = uuid.uuid4()
    issued = issue_access_token(user_id, Role.EDITOR)
    claims = decode_access_token(issued.token)
    assert (claims.user_id, claims.role) == (user_id, Role.EDITOR)
    assert len(claims.jti) == 32 and issued.expires_in == 15 * 60


def test_each_token_gets_its_own_jti() -> None:
    user_id = uuid.uuid4()
    first = decode_access_token(issue_access_token(user_id, Role.VIEWER).token)
    second = decode_access_token(issue_access_token(user_id, Role.VIEWER).token)
    assert first.jti != second.jti


def _signed(claims: dict[str, object], secret: str) -> str:
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret), algorithms=["HS256"])


def test_expired_token_is_refused() -> None:
    claims = {"sub": str(uuid.uuid4()), "role": "admin", "iat": 1, "exp": 2, "jti": "x", "iss": "dwc"}
    with pytest.raises(errors.AuthenticationFailed, match="expired"):
        decode_access_token(_signed(claims, get_settings().signing_secret()))


def test_token_signed_with_another_key_is_refused() -> None:
    claims = {"sub": str(uuid.uuid4()), "role": "admin", "iat": 1, "exp": 4_000_000_000, "jti": "x", "iss": "dwc"}
    with pytest.raises(errors.AuthenticationFailed):
        decode_access_token(_signed(claims, "another-secret-that-is-long-enough-123456"))


def test_unsigned_alg_none_token_is_refused() -> None:
    token = issue_access_token(uuid.uuid4(), Role.ADMIN).token
    header, payload, _ = token.split(".")
    with pytest.raises(errors.AuthenticationFailed):
        decode_access_token(f"{header}.{payload}.")
    with pytest.raises(errors.AuthenticationFailed):
        decode_access_token("eyJhbGciOiJub25lIn0." + payload + ".")


def test_garbage_is_refused() -> None:
    with pytest.raises(errors.AuthenticationFailed):
        decode_access_token("not-a-token")


def test_a_token_verified_before_is_refused_once_it_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue_access_token(uuid.uuid4(), Role.EDITOR).token
    claims = decode_access_token(token)  # verified, and remembered as verified
    later = claims.expires_at + 60
    monkeypatch.setattr(tokens, "_now", lambda: later)
    with pytest.raises(errors.AuthenticationFailed, match="expired"):
        decode_access_token(token)


def test_a_token_verified_before_is_refused_after_the_secret_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, JWT_SECRET="first-secret-that-is-long-enough-0123456789")
    token = issue_access_token(uuid.uuid4(), Role.ADMIN).token
    assert decode_access_token(token).role is Role.ADMIN
    configure(monkeypatch, JWT_SECRET="second-secret-that-is-long-enough-0123456789")
    with pytest.raises(errors.AuthenticationFailed, match="not valid"):
        decode_access_token(token)


def test_an_altered_token_is_refused_even_after_the_real_one_was_verified() -> None:
    token = issue_access_token(uuid.uuid4(), Role.VIEWER).token
    decode_access_token(token)
    header, payload, signature = token.split(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(errors.AuthenticationFailed):
        decode_access_token(f"{header}.{forged}.{signature}")
