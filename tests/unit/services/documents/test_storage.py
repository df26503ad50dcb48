"""Every storage backend keeps files by content: a local folder, and S3 through boto3 against moto's server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from services import errors
from services.documents.storage.base import StorageBackend, content_digest
from services.documents.storage.local import LocalStorage
from services.documents.storage.registry import storage_for
from services.documents.storage.s3 import S3Storage
from services.settings import Settings

KEY_ID, SECRET = "AKIDTESTDOCS", "test-secret-for-loopback-s3"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a loopback port, speaking the S3 REST protocol."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _s3_settings(endpoint: str) -> Settings:
    return Settings(s3_endpoint_url=endpoint, aws_access_key_id=KEY_ID,
                    aws_secret_access_key=SecretStr(SECRET), s3_region="us-east-1")


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageBackend]:
    if request.param == "local":
        yield storage_for((tmp_path / "store").as_uri(), Settings())
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"docs-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
                 aws_secret_access_key=SECRET).create_bucket(Bucket=bucket)
    yield storage_for(f"s3://{bucket}/originals", _s3_settings(endpoint))


async def test_put_then_get_returns_the_same_bytes_under_their_sha256(backend: StorageBackend) -> None:
    data = b"%PDF-1.4 not really, but bytes\x00\xff"
    stored = await backend.put(data)
    assert stored.digest == content_digest(data) and stored.size == len(data) and stored.created
    assert await backend.get(stored.digest) == data
    assert await backend.exists(stored.digest)


async def test_the_same_bytes_twice_are_stored_once(backend: StorageBackend) -> None:
    first = await backend.put(b"same content")
    second = await backend.put(b"same content")
    assert first.digest == second.digest and first.created and not second.created


async def test_a_missing_file_is_not_found_and_delete_removes(backend: StorageBackend) -> None:
    stored = await backend.put(b"to be removed")
    await backend.delete(stored.digest)
    assert not await backend.exists(stored.digest)
    with pytest.raises(errors.NotFound):
        await backend.get(stored.digest)
    await backend.delete(stored.digest)  # deleting again is harmless


@pytest.mark.parametrize("digest", ["../../etc/passwd", "A" * 64, "ab", "0" * 63 + "/"])
async def test_an_address_that_is_not_a_digest_is_refused(backend: StorageBackend, digest: str) -> None:
    with pytest.raises(errors.ValidationFailed):
        await backend.get(digest)


def test_the_url_scheme_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(storage_for(tmp_path.as_uri(), Settings()), LocalStorage)
    s3 = storage_for("s3://bucket/some/prefix", _s3_settings("http://127.0.0.1:1"))
    assert isinstance(s3, S3Storage) and s3.bucket == "bucket" and s3.prefix == "some/prefix"
    with pytest.raises(errors.ValidationFailed, match="ftp"):
        storage_for("ftp://host/x", Settings())


async def test_s3_files_land_under_the_prefix_in_the_bucket(s3_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET)
    client.create_bucket(Bucket="prefixed")
    stored = await storage_for("s3://prefixed/tenant-a", _s3_settings(s3_endpoint)).put(b"hello")
    keys = [item["Key"] for item in client.list_objects_v2(Bucket="prefixed")["Contents"]]
    assert keys == [f"tenant-a/{stored.digest[:2]}/{stored.digest}"]


async def test_an_unreachable_s3_is_service_unavailable_not_a_crash() -> None:
    storage = storage_for("s3://nowhere/x", _s3_settings(f"http://127.0.0.1:{_free_port()}"))
    with pytest.raises(errors.ServiceUnavailable, match="could not be reached"):
        await storage.put(b"data")
