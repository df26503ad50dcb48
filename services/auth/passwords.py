"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services import errors

# OWASP's minimum for argon2id is m=19 MiB, t=2, p=1; we stay at it so a login costs tens of
# milliseconds on two cores. The parameters travel inside every hash, so raising them later
# re-hashes each password at its next login (see ``needs_rehash``).
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
MIN_LENGTH = 10
MAX_LENGTH = 256

_COMMON = frozenset({
    "password", "password1", "password12", "password123", "password1234", "passw0rd", "qwertyuiop",
    "1234567890", "0123456789", "12345678910", "abcdefghij", "iloveyou12", "letmein123", "welcome123",
    "adminadmin", "administrator", "changeme123", "qwerty1234", "1q2w3e4r5t", "trustno1234",
    "football12", "baseball12", "superman12", "sunshine12", "princess12", "dragon1234", "monkey1234",
    "zaq12wsxcde", "asdfghjkl1", "qazwsxedcr", "computer12", "whatever12",
})
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm")

# A valid hash of a random password: verifying against it gives unknown emails the same cost.
_DUMMY_HASH = HASHER.hash("unknown-account-placeholder-password")


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why ``password`` is unacceptable, as a sentence, or ``None`` when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _COMMON or lowered.rstrip("!.?0123456789") in {c.rstrip("0123456789") for c in _COMMON}:
        return "This password is too common; choose something less guessable."
    if len(set(lowered)) < 4:
        return "Use more different characters."
    if any(lowered in seq or lowered in seq[::-1] for seq in _SEQUENCES):
        return "A run of consecutive keys or digits is too easy to guess."
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return "Don't build the password from your email address."
    if re.fullmatch(r"(.{1,4})\1+", lowered):
        return "A repeated pattern is too easy to guess."
    return None


async def hash_password(password: str) -> str:
    """Hash off the event loop (argon2 is deliberately slow)."""
    return await asyncio.to_thread(HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password``; with ``stored_hash=None`` still pay the full cost (unknown email)."""
    def _verify() -> bool:
        try:
            return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return HASHER.check_needs_rehash(stored_hash)


def require_acceptable(password: str, *, email: str = "") -> None:
    """Raise ``ValidationFailed`` naming the password field when it is not acceptable."""
    problem = password_problem(password, email=email)
    if problem:
        raise errors.ValidationFailed(problem, details=[{"field": "password", "message": problem}])
