"""Files in S3-compatible object storage through boto3: ``STORAGE_URL=s3://bucket/prefix``.

``S3_ENDPOINT_URL`` points at another S3-compatible service (MinIO, Ceph, R2...); the keys come
from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, or boto3's usual chain when unset.
boto3 blocks, so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services import errors
from services.documents.storage.base import StorageBackend, StoredFile, checked_digest, content_digest
from services.settings import Settings

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage(StorageBackend):
    scheme = "s3"

    def __init__(self, *, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @classmethod
    def from_settings(cls, url: str, settings: Settings) -> S3Storage:
        parts = urlsplit(url)
        if not parts.netloc:
            raise errors.ValidationFailed(f"STORAGE_URL {url!r} names no bucket; write s3://bucket/prefix.")
        secret = settings.aws_secret_access_key.get_secret_value()
        client = boto3.session.Session().client(
            "s3", endpoint_url=settings.s3_endpoint_url or None, region_name=settings.s3_region,
            aws_access_key_id=settings.aws_access_key_id or None, aws_secret_access_key=secret or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60))
        return cls(bucket=parts.netloc, prefix=parts.path, client=client)

    def _key(self, digest: str) -> str:
        digest = checked_digest(digest)
        return f"{self.prefix}/{digest[:2]}/{digest}" if self.prefix else f"{digest[:2]}/{digest}"

    async def put(self, data: bytes) -> StoredFile:
        digest = content_digest(data)
        if await self.exists(digest):
            return StoredFile(digest=digest, size=len(data), created=False)
        await self._call("put_object", Bucket=self.bucket, Key=self._key(digest), Body=data,
                         ContentType="application/octet-stream")
        return StoredFile(digest=digest, size=len(data), created=True)

    async def get(self, digest: str) -> bytes:
        try:
            response = await self._call("get_object", Bucket=self.bucket, Key=self._key(digest))
        except _Missing:
            raise errors.NotFound(f"The original file {digest[:12]}… is not in the store.") from None
        body: bytes = await asyncio.to_thread(response["Body"].read)
        return body

    async def exists(self, digest: str) -> bool:
        try:
            await self._call("head_object", Bucket=self.bucket, Key=self._key(digest))
        except _Missing:
            return False
        return True

    async def delete(self, digest: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=self._key(digest))

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self._client, operation), **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise _Missing from exc
            raise errors.ServiceUnavailable(
                f"The file store ({self.describe()}) refused {operation}: {code or 'error'}.") from exc
        except BotoCoreError as exc:
            raise errors.ServiceUnavailable(
                f"The file store ({self.describe()}) could not be reached: {type(exc).__name__}.") from exc


class _Missing(Exception):
    """Internal: the object is not there (mapped to NotFound or False by the caller)."""
