"""The storage interface every backend implements: content-addressed bytes, keyed by SHA-256."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from services import errors

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def content_digest(data: bytes) -> str:
    """The SHA-256 of ``data`` in lowercase hex: a file's address in every backend."""
    return hashlib.sha256(data).hexdigest()


def checked_digest(digest: str) -> str:
    """``digest`` if it is a SHA-256 hex string; refuses anything that could escape a folder or prefix."""
    if not _DIGEST.match(digest):
        raise errors.ValidationFailed(f"{digest[:80]!r} is not a file address (64 lowercase hex digits).")
    return digest


@dataclass(frozen=True)
class StoredFile:
    """The result of a put: the file's address, its size, and whether these bytes were new to the store."""

    digest: str
    size: int
    created: bool


class StorageBackend(ABC):
    """Original files by content hash: storing the same bytes twice keeps one copy."""

    scheme: ClassVar[str]
    """The ``STORAGE_URL`` scheme this backend serves (``file``, ``s3``)."""

    @abstractmethod
    async def put(self, data: bytes) -> StoredFile:
        """Store ``data`` under its digest (a no-op if it is there already)."""

    @abstractmethod
    async def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; ``NotFound`` when there are none."""

    @abstractmethod
    async def exists(self, digest: str) -> bool:
        """Whether bytes are stored under ``digest``."""

    @abstractmethod
    async def delete(self, digest: str) -> None:
        """Remove the bytes under ``digest`` (nothing happens if there are none)."""

    @abstractmethod
    def describe(self) -> str:
        """Where the files go, for status pages and logs (never a secret)."""
