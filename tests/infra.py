"""Reaching the real PostgreSQL and Redis the tests use, and what to do when they are absent.

Outside CI an unreachable server skips its tests with the reason; under ``CI=true`` it fails
them, because there the servers are part of what is being tested.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or, in CI, fail) the calling test when the server does not answer."""
    if reachable(host, port):
        return
    message = f"{name} is not answering on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}, and CI requires it (.ci/run starts it)")
    pytest.skip(f"{message}; start it to run these tests (they are required in CI)")


@contextmanager
def temporary_postgres_database() -> Iterator[str]:
    """Create an empty database for this test session and drop it afterwards."""
    import psycopg

    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"dwc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str) -> None:
    """Apply every Alembic migration to ``url``, as ``make run`` does."""
    from alembic import command
    from alembic.config import Config

    config = Config("alembic.ini")
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def truncate_all(url: str) -> None:
    """Empty every table of the shared PostgreSQL test database (each test starts from nothing)."""
    import psycopg
    from sqlmodel import SQLModel

    tables = ", ".join(f'"{name}"' for name in SQLModel.metadata.tables)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]
