"""The same file uploaded at the same moment (one person twice, two people) on both databases: every upload
is answered 201 and extracted, and the content-addressed store keeps the bytes once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from models.user import Role
from services.documents.processing import wait_for_extractions
from services.documents.storage.base import content_digest
from services.documents.storage.registry import get_storage
from tests.api.conftest import Headers, account
from tests.unit.services.documents.files import make_pdf

pytestmark = pytest.mark.usefixtures("live_db")


async def _post(http: httpx.AsyncClient, headers: Headers, name: str, data: bytes) -> httpx.Response:
    return await http.post("/api/v3/documents", headers=headers, files=[("files", (name, data))])


async def _ready_titles(http: httpx.AsyncClient, headers: Headers) -> list[tuple[str, str]]:
    page = (await http.get("/api/v3/documents", headers=headers)).json()
    return sorted((d["title"], d["status"]) for d in page["data"])


async def test_the_same_file_uploaded_twice_at_once_by_one_person_is_stored_once(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    data = make_pdf(["Concurrent otters."])
    answers = await asyncio.gather(*[_post(live, ada, f"same-{n}.pdf", data) for n in range(4)])
    assert [answer.status_code for answer in answers] == [201] * 4, [answer.text for answer in answers]
    await wait_for_extractions()
    assert await _ready_titles(live, ada) == [(f"same-{n}", "ready") for n in range(4)]
    assert await get_storage().exists(content_digest(data))


async def test_two_people_uploading_the_same_file_at_once_each_get_their_own_document(
        live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    bob = await account(live, "bob@example.com", Role.EDITOR)
    data = b"# Shared agenda\n\nBoth teams bring the same notes."
    answers = await asyncio.gather(_post(live, ada, "agenda.md", data), _post(live, bob, "agenda.md", data),
                                   _post(live, ada, "agenda-copy.md", data), _post(live, bob, "agenda-copy.md", data))
    assert [answer.status_code for answer in answers] == [201] * 4, [answer.text for answer in answers]
    await wait_for_extractions()
    for person in (ada, bob):
        assert await _ready_titles(live, person) == [("agenda", "ready"), ("agenda-copy", "ready")]


async def test_deleting_one_copy_while_the_same_file_is_uploaded_again_keeps_the_original(
        live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    data = b"# Minutes\n\nKept while a copy goes."
    first = (await _post(live, ada, "minutes.md", data)).json()[0]
    await wait_for_extractions()
    deleted, again = await asyncio.gather(live.delete(f"/api/v3/documents/{first['id']}", headers=ada),
                                          _post(live, ada, "minutes-again.md", data))
    assert (deleted.status_code, again.status_code) == (204, 201), again.text
    await wait_for_extractions()
    assert await _ready_titles(live, ada) == [("minutes-again", "ready")]
    original = await live.get(f"/api/v3/documents/{again.json()[0]['id']}/original", headers=ada)
    assert original.status_code == 200 and original.content == data


async def test_an_original_goes_with_the_last_document_that_refers_to_it(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    data = b"# Notes\n\nTwo copies, then none."
    first, second = [(await _post(live, ada, name, data)).json()[0] for name in ("notes.md", "notes-copy.md")]
    await wait_for_extractions()
    assert (await live.delete(f"/api/v3/documents/{first['id']}", headers=ada)).status_code == 204
    assert await get_storage().exists(content_digest(data))  # the copy still refers to it
    assert (await live.delete(f"/api/v3/documents/{second['id']}", headers=ada)).status_code == 204
    assert not await get_storage().exists(content_digest(data))
