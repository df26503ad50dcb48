"""Read sessions run each statement on its own: no transaction held, and no write accepted."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select, update

from models.user import Role, User
from services.db import (
    ReadOnlySessionWrite,
    _autocommit_engine,
    get_engine,
    open_read_session,
    open_session,
)


async def _add_user(email: str) -> None:
    async with open_session() as session:
        session.add(User(email=email, password_hash="x", role=Role.VIEWER))
        await session.commit()


async def test_a_read_session_reads_what_was_committed(live_db: str) -> None:
    await _add_user("ada@example.com")
    async with open_read_session() as session:
        users = (await session.exec(select(User))).all()
    assert [user.email for user in users] == ["ada@example.com"]


async def test_a_writer_need_not_wait_for_an_open_read_session(live_db: str) -> None:
    # On SQLite a transaction is BEGIN IMMEDIATE, the write lock: a read inside one would make this
    # writer wait busy_timeout (5 s) and fail. A read session holds no transaction between statements.
    await _add_user("ada@example.com")
    async with open_read_session() as session:
        assert len((await session.exec(select(User))).all()) == 1
        await asyncio.wait_for(_add_user("bo@example.com"), timeout=2)
        assert len((await session.exec(select(User))).all()) == 2  # each statement sees what is committed


async def test_a_read_session_refuses_to_write(live_db: str) -> None:
    await _add_user("ada@example.com")
    async with open_read_session() as session:
        session.add(User(email="bo@example.com", password_hash="x"))
        with pytest.raises(ReadOnlySessionWrite):
            await session.flush()
    async with open_read_session() as session:
        with pytest.raises(ReadOnlySessionWrite):
            await session.exec(update(User).values(role=Role.ADMIN))  # type: ignore[call-overload]
    async with open_read_session() as session:
        roles = (await session.exec(select(User.role).where(col(User.email) == "ada@example.com"))).all()
    assert roles == [Role.VIEWER]


async def test_on_sqlite_a_connection_back_from_a_read_session_leaves_transactions_to_sqlalchemy(
        live_db: str) -> None:
    if not live_db.startswith("sqlite"):
        pytest.skip("pysqlite's own transaction handling")
    for n in range(2):  # the pool hands the read session's connection to the writer
        async with open_read_session() as session:
            await session.exec(select(User))
        async with open_session() as session:
            session.add(User(email=f"u{n}@example.com", password_hash="x"))
            await session.flush()
            raw = (await session.connection()).sync_connection
            assert raw is not None and raw.connection.dbapi_connection is not None
            assert raw.connection.dbapi_connection.isolation_level is None  # not pysqlite's implicit BEGIN
            await session.commit()


async def test_a_read_session_gives_its_connection_back_when_closed_and_one_that_read_nothing_takes_none(
        live_db: str) -> None:
    await _add_user("ada@example.com")
    pool = _autocommit_engine(get_engine()).sync_engine.pool
    before = pool.checkedout()  # type: ignore[attr-defined]
    async with open_read_session():
        pass
    assert pool.checkedout() == before  # type: ignore[attr-defined]
    async with open_read_session() as reader:
        assert len((await reader.exec(select(User))).all()) == 1
        assert pool.checkedout() == before + 1  # type: ignore[attr-defined]
    assert pool.checkedout() == before and not reader.in_transaction()  # type: ignore[attr-defined]
    assert not reader.identity_map  # the rows it read are let go too
