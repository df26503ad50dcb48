"""Fixtures shared by every test: isolated settings, migrated databases, per-test rollback."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# Settings are read once per process: point them at a scratch data folder before any import.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="dwc-tests-"))
os.environ["DWC_DATA_DIR"] = str(_DATA_DIR)
os.environ["DWC_ENVIRONMENT"] = "test"
for _name in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET"):
    os.environ.pop(_name, None)

from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from services.analytics.recorder import flush_events  # noqa: E402
from services.auth.rate_limit import reset_login_failures_counter  # noqa: E402
from services.db import create_engine_for, dispose_engine  # noqa: E402
from services.settings import get_settings  # noqa: E402
from services.workflows import runtime  # noqa: E402
from tests.infra import REDIS_TEST_URL, migrate, require_server, temporary_postgres_database, truncate_all  # noqa: E402


@pytest.fixture(scope="session")
def sqlite_url() -> str:
    url = f"sqlite:///{_DATA_DIR / 'unit.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with temporary_postgres_database() as url:
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


_engines: dict[str, AsyncEngine] = {}


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session whose commits become savepoints of one transaction rolled back after the test."""
    engine = _engines.get(database_url)
    if engine is None:
        engine = _engines[database_url] = create_engine_for(database_url)
    async with engine.connect() as connection:
        outer = await connection.begin()
        db = AsyncSession(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield db
        finally:
            await db.close()
            await outer.rollback()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    reset_login_failures_counter()
    yield
    reset_login_failures_counter()


@pytest.fixture
def redis_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Configure ``REDIS_URL`` for the duration of one test (Redis database 15)."""
    require_server("Redis", "127.0.0.1", 6379)
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    get_settings.cache_clear()
    reset_login_failures_counter()
    yield REDIS_TEST_URL
    monkeypatch.delenv("REDIS_URL")
    get_settings.cache_clear()
    reset_login_failures_counter()


@pytest.fixture(scope="session", autouse=True)
async def _dispose_engines() -> AsyncIterator[None]:
    yield
    for engine in _engines.values():
        await engine.dispose()
    from services.redis_client import close_redis

    await close_redis()


# A real database that the engine commits to (no rollback: runs execute in their own sessions).
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("live") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_live_url() -> Iterator[str]:
    with temporary_postgres_database() as url:
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def live_db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                  tmp_path: Path) -> AsyncIterator[str]:
    """``DATABASE_URL`` pointing at a migrated database that the engine really commits to."""
    if request.param == "sqlite":
        path = tmp_path / "live.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = str(request.getfixturevalue("postgres_live_url"))
        await asyncio.to_thread(truncate_all, url)  # off the loop: in-flight async writes must be able to finish
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RUN_LEASE_SECONDS", "1")
    get_settings.cache_clear()
    await runtime.reset_dispatcher()
    await dispose_engine()
    yield url
    await runtime.reset_dispatcher()
    await flush_events()  # a write still in flight would hold locks the next test's TRUNCATE waits for
    await dispose_engine()
    get_settings.cache_clear()
