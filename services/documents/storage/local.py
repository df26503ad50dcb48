"""Files in a local folder (default ``$DATA_DIR/documents``), fanned out by the first digest characters."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from services import errors
from services.documents.storage.base import StorageBackend, StoredFile, checked_digest, content_digest


class LocalStorage(StorageBackend):
    scheme = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_url(cls, url: str) -> LocalStorage:
        return cls(Path(unquote(urlsplit(url).path)))

    def _path(self, digest: str) -> Path:
        digest = checked_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    async def put(self, data: bytes) -> StoredFile:
        return await asyncio.to_thread(self._put, data)

    def _put(self, data: bytes) -> StoredFile:
        digest = content_digest(data)
        path = self._path(digest)
        if path.exists():
            return StoredFile(digest=digest, size=len(data), created=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then rename: a reader never sees half a file, and two writers of the same bytes agree.
        partial = path.with_name(f".{digest}.{secrets.token_hex(4)}")
        partial.write_bytes(data)
        os.replace(partial, path)
        return StoredFile(digest=digest, size=len(data), created=True)

    async def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise errors.NotFound(f"The original file {digest[:12]}… is not in the store.") from None

    async def exists(self, digest: str) -> bool:
        return await asyncio.to_thread(self._path(digest).exists)

    async def delete(self, digest: str) -> None:
        await asyncio.to_thread(self._path(digest).unlink, missing_ok=True)

    def describe(self) -> str:
        return f"local folder {self.root}"
