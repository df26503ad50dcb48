"""A page read's JSON body, written from the stored values, is what its models would dump."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, field_serializer
from sqlalchemy import Select, bindparam, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import WORKFLOWS
from models.user import Role, User
from models.workflow import Workflow, WorkflowPublic, WorkflowsPublic, WorkflowStatus, WorkflowVisibility
from services.page_reads import PageRead
from services.workflows import service as workflows

# Every character class JSON escapes differently: quotes, backslash, controls, and what stays raw.
AWKWARD = ['say "hi"', "back\\slash/", "tab\there\nnew line\r\x01\x1f", "del\x7f", "line\u2028sep",
           "café \u2013 日本語 🚀", "<script>&amp;"]
START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


async def _people(session: AsyncSession) -> tuple[User, User]:
    admin = User(email="admin@example.com", password_hash="x", role=Role.ADMIN)
    editor = User(email="ed@example.com", password_hash="x", role=Role.EDITOR)
    session.add_all([admin, editor])
    await session.flush()
    return admin, editor


async def _awkward_workflows(session: AsyncSession, owner: User) -> None:
    for n, name in enumerate(AWKWARD):
        # Whole seconds (written without a fraction), one microsecond, and everything between.
        at = START + timedelta(minutes=n, microseconds=[0, 1, 10, 500000, 999999, 123456, 0][n])
        session.add(Workflow(name=name, description=name[::-1], tags=[name, "q3"] if n % 2 else [],
                             owner_id=owner.id if n != 3 else None, current_version=n + 1,
                             status=WorkflowStatus.ACTIVE if n % 3 == 0 else WorkflowStatus.DRAFT,
                             visibility=WorkflowVisibility.PRIVATE if n == 5 else WorkflowVisibility.WORKSPACE,
                             created_at=at - timedelta(days=1), updated_at=at))
    await session.commit()


async def _both(actor: User, session: AsyncSession, **filters: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    built = json.loads(await workflows.list_workflows_json(actor, session=session, **filters))
    dumped = json.loads((await workflows.list_workflows(actor, session=session, **filters)).model_dump_json())
    return built, dumped


async def test_the_json_body_is_what_the_models_dump(session: AsyncSession) -> None:
    admin, editor = await _people(session)
    await _awkward_workflows(session, editor)
    built, dumped = await _both(admin, session)
    assert built == dumped
    assert built["count"] == len(AWKWARD) and [row["name"] for row in built["data"]] == AWKWARD[::-1]
    by_name = {row["name"]: row for row in built["data"]}
    assert by_name[AWKWARD[0]]["updated_at"] == "2026-03-01T12:00:00Z"  # no fraction when there is none
    assert by_name[AWKWARD[1]]["updated_at"] == "2026-03-01T12:01:00.000001Z"
    assert by_name[AWKWARD[3]]["owner_id"] is None
    assert WorkflowsPublic.model_validate(built).data[1].tags == [AWKWARD[5], "q3"]


@pytest.mark.parametrize("filters", [
    {"search": "CAFÉ"}, {"tag": "q3"}, {"status": WorkflowStatus.ACTIVE}, {"offset": 2, "limit": 3},
    {"search": "no such workflow"},
], ids=["search", "tag", "status", "second-page", "nothing-found"])
async def test_filters_and_pages_agree(session: AsyncSession, filters: dict[str, Any]) -> None:
    _admin, editor = await _people(session)
    await _awkward_workflows(session, editor)
    built, dumped = await _both(editor, session, **filters)
    assert built == dumped


async def test_a_page_past_the_end_is_empty_and_still_counts_the_list(session: AsyncSession) -> None:
    admin, editor = await _people(session)
    await _awkward_workflows(session, editor)
    built, dumped = await _both(admin, session, offset=50, limit=10)
    assert built == dumped == {"data": [], "count": len(AWKWARD)}


async def test_an_empty_list(session: AsyncSession) -> None:
    admin, _editor = await _people(session)
    built, dumped = await _both(admin, session)
    assert built == dumped == {"data": [], "count": 0}


async def test_the_page_keeps_its_order_when_ids_disagree(session: AsyncSession) -> None:
    admin, editor = await _people(session)
    # Created in one order, edited in another, two of them at the same instant (the id breaks the tie).
    minutes = [5, 1, 9, 1, 3, 7, 2, 8]
    session.add_all([Workflow(name=f"w{n}", owner_id=editor.id, current_version=1,
                              updated_at=START + timedelta(minutes=m)) for n, m in enumerate(minutes)])
    await session.commit()
    built, dumped = await _both(admin, session, limit=6)
    assert built == dumped
    assert [row["name"] for row in built["data"]] == ["w2", "w7", "w5", "w0", "w4", "w6"]
    built, dumped = await _both(admin, session, offset=6, limit=6)
    assert built == dumped and [row["name"] for row in built["data"]] == ["w3", "w1"]


def _select_with(*columns: Any) -> Select[Any]:
    return (select(*columns, func.count().over().label("total")).order_by(WORKFLOWS.c.id)
            .offset(bindparam("offset")).limit(bindparam("limit")))


def test_a_model_whose_dump_may_differ_from_its_stored_values_is_refused_when_built() -> None:
    class Scored(BaseModel):
        id: int
        score: float  # an integer column would be written 3, where the model writes 3.0

    class Shouting(BaseModel):
        id: int
        name: str

        @field_serializer("name")
        def upper(self, name: str) -> str:
            return name.upper()

    build = lambda: _select_with(WORKFLOWS.c.id, WORKFLOWS.c.name, WORKFLOWS.c.current_version.label("score"))  # noqa: E731
    with pytest.raises(TypeError, match="float"):
        PageRead(build, Scored)
    with pytest.raises(TypeError, match="serializers"):
        PageRead(build, Shouting)


async def test_a_model_with_fewer_fields_than_the_select_takes_only_its_own(session: AsyncSession) -> None:
    class Named(BaseModel):
        id: int
        name: str

    _admin, editor = await _people(session)
    await _awkward_workflows(session, editor)
    read = PageRead(lambda: _select_with(*(WORKFLOWS.c[name] for name in WorkflowPublic.model_fields)), Named)
    body = json.loads(await read.json(session, offset=0, limit=2))
    assert body == {"data": [{"id": row.id, "name": row.name} for row in (await read.models(
        session, offset=0, limit=2))[0]], "count": len(AWKWARD)}
