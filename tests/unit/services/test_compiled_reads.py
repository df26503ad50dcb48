"""A compiled read's rows validate into the same models as SQLAlchemy's, and it fails the way SQLAlchemy would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from pydantic import BaseModel
from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.exc import DataError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import WORKFLOWS
from models.user import Role, User
from models.workflow import Workflow, WorkflowStatus, WorkflowVisibility
from services.compiled_reads import CompiledRead
from services.db import open_read_session, open_session

C = WORKFLOWS.c


def _build() -> Select[Any]:
    # A literal (status != archived), a named value used twice (pattern) and typed ones (owner, limit).
    return (select(C.id, C.name, C.tags, C.status, C.visibility, C.owner_id, C.created_at, C.updated_at)
            .where(C.status != WorkflowStatus.ARCHIVED,
                   or_(C.name.like(bindparam("pattern")), C.description.like(bindparam("pattern"))),
                   or_(C.visibility == WorkflowVisibility.WORKSPACE,
                       C.owner_id == bindparam("owner", type_=C.owner_id.type)))
            .order_by(C.id).limit(bindparam("limit")))


READ = CompiledRead(_build)


async def _workflows(session: AsyncSession) -> uuid.UUID:
    owner = User(email="ada@example.com", password_hash="x", role=Role.EDITOR)
    other = User(email="bo@example.com", password_hash="x", role=Role.EDITOR)
    session.add_all([owner, other])
    await session.flush()
    session.add_all([
        Workflow(name="report alpha", tags=["Finance", "q3"], owner_id=owner.id, current_version=1),
        Workflow(name="report beta", description="private", owner_id=other.id, current_version=1,
                 visibility=WorkflowVisibility.PRIVATE),
        Workflow(name="old report", status=WorkflowStatus.ARCHIVED, owner_id=owner.id, current_version=1),
        Workflow(name="memo", description="a report in words", owner_id=owner.id, current_version=1,
                 status=WorkflowStatus.ACTIVE),
    ])
    await session.commit()
    return owner.id


class Row(BaseModel):
    id: int
    name: str
    tags: list[str]
    status: WorkflowStatus
    visibility: WorkflowVisibility
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


async def test_rows_validate_into_what_sqlalchemys_rows_do(session: AsyncSession) -> None:
    owner = await _workflows(session)
    values = {"pattern": "%report%", "owner": owner, "limit": 10}
    connection = await session.connection()
    expected = [Row.model_validate(dict(row)) for row in (await connection.execute(READ.statement, values)).mappings()]
    for _ in range(2):  # compiled on first use, then from the cache
        rows = [Row.model_validate(record) for record in await READ.records(session, **values)]
        assert rows == expected
        assert [row.model_dump_json() for row in rows] == [row.model_dump_json() for row in expected]
    assert [row.name for row in rows] == ["report alpha", "memo"]  # not archived, not someone's private one
    first = rows[0]
    assert first.tags == ["Finance", "q3"]
    assert first.status is WorkflowStatus.DRAFT and rows[1].status is WorkflowStatus.ACTIVE
    assert first.visibility is WorkflowVisibility.WORKSPACE
    assert first.owner_id == owner
    assert first.created_at.utcoffset() == UTC.utcoffset(None) and first.created_at.tzinfo is UTC


async def test_records_are_the_drivers_values(session: AsyncSession) -> None:
    owner = await _workflows(session)
    [record] = await READ.records(session, pattern="memo", owner=owner, limit=10)
    assert record["status"] == "active" and record["visibility"] == "workspace"  # values, or enums equal to them
    assert isinstance(record["owner_id"], uuid.UUID) and record["tags"] == []


async def test_a_value_out_of_range_is_sqlalchemys_data_error(session: AsyncSession) -> None:
    if (await session.connection()).dialect.name != "postgresql":
        pytest.skip("SQLite has no 64-bit limit to overflow")
    owner = await _workflows(session)
    with pytest.raises(DataError):
        await READ.records(session, pattern="%", owner=owner, limit=10**20)


async def _saved_workflows() -> uuid.UUID:
    async with open_session() as session:
        return await _workflows(session)


@pytest.mark.parametrize("live_db", ["postgres"], indirect=True)  # a server-side disconnect
async def test_a_lost_server_fails_the_read_running_and_the_next_read_works(live_db: str) -> None:
    owner = await _saved_workflows()
    for _ in range(2):
        async with open_read_session() as session:
            await READ.records(session, pattern="%", owner=owner, limit=10)
    with psycopg.connect(live_db.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    async with open_read_session() as session:
        with pytest.raises(OperationalError) as raised:  # SQLAlchemy's error, as the API maps it
            await READ.records(session, pattern="%", owner=owner, limit=10)
        assert raised.value.connection_invalidated
    for _ in range(3):  # a working connection, not the dead one
        async with open_read_session() as session:
            assert len(await READ.records(session, pattern="%", owner=owner, limit=10)) == 2


@pytest.mark.parametrize("live_db", ["postgres"], indirect=True)  # PostgreSQL's 64-bit limit
async def test_a_query_error_on_a_held_connection_is_sqlalchemys_and_keeps_the_connection(live_db: str) -> None:
    owner = await _saved_workflows()
    for _ in range(2):
        async with open_read_session() as session:
            with pytest.raises(DataError) as raised:
                await READ.records(session, pattern="%", owner=owner, limit=10**20)
            assert not raised.value.connection_invalidated
            assert len(await READ.records(session, pattern="%", owner=owner, limit=10)) == 2


async def test_a_read_session_reads_on_a_held_connection_and_holds_none(live_db: str) -> None:
    owner = await _saved_workflows()
    async with open_read_session() as session:
        assert len(await READ.records(session, pattern="%report%", owner=owner, limit=10)) == 2
        assert not session.in_transaction()  # nothing of the session's own: the connection went back
