"""Following uploads: a streamed file's full size decides the size refusal, and the status of several
documents is reported to their owner (and admins) only."""

from __future__ import annotations

import pytest

from models.document import DocumentStatus
from models.user import Role, User
from services.db import open_session
from services.documents import service
from services.documents.processing import schedule_extraction, wait_for_extractions
from services.documents.service import UploadedFile
from tests.unit.services.documents.conftest import make_user


async def test_statuses_follow_extraction_for_the_owner_and_admins_only(owner: User) -> None:
    async with open_session() as session:
        created = await service.upload(owner, [UploadedFile("a.md", b"# A\n\nalpha"), UploadedFile("b.exe", b"MZ")],
                                       session=session)
    ids = [document.id for document in created]
    schedule_extraction([ids[0]])
    await wait_for_extractions()
    stranger, admin = await make_user(), await make_user(Role.ADMIN)
    async with open_session() as session:
        mine = {d.id: d.status for d in await service.statuses(owner, ids, session=session)}
        theirs = await service.statuses(stranger, ids, session=session)
        admins = await service.statuses(admin, ids, session=session)
    assert mine == {ids[0]: DocumentStatus.READY, ids[1]: DocumentStatus.FAILED}
    assert theirs == [] and len(admins) == 2


async def test_a_streamed_file_cut_at_the_cap_is_refused_by_its_full_size(
        owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.settings import get_settings

    monkeypatch.setenv("DOCUMENT_MAX_MB", "1")
    get_settings.cache_clear()
    kept = b"# big\n\n" + b"x" * (1024 * 1024 - 7) + b"!"  # what a stream keeps: the cap plus one byte
    async with open_session() as session:
        [document] = await service.upload(owner, [UploadedFile("big.md", kept, 30 * 1024 * 1024)], session=session)
    get_settings.cache_clear()
    assert document.status is DocumentStatus.FAILED and document.size_bytes == 30 * 1024 * 1024
    assert document.error is not None and "30.0 MB" in document.error and document.original_hash is None
