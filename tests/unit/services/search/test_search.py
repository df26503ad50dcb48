"""Document search on SQLite (FTS5) and PostgreSQL (tsvector), then semantic re-ranking through the SDK."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlmodel import delete

from models.ai_usage import AIUsage
from models.document import Document, DocumentSource
from models.user import User
from services import errors
from services.ai.search import fts5_match, search
from services.db import open_session
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.usefixtures("live_db")


async def _user() -> uuid.UUID:
    user = User(email=f"{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
    async with open_session() as session:
        session.add(user)
        await session.commit()
    return user.id


async def _documents(*pairs: tuple[str, str], owner_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    documents = [Document(title=title, content=content, source=DocumentSource.API, owner_id=owner_id)
                 for title, content in pairs]
    async with open_session() as session:
        session.add_all(documents)
        await session.commit()
    return [document.id for document in documents]


async def test_the_document_with_the_terms_ranks_first_and_its_snippet_shows_them() -> None:
    invoice, _, _ = await _documents(
        ("Invoice overdue", "The invoice for March is overdue; payment reminders were sent twice."),
        ("Team lunch", "We met for lunch and talked about the invoice only briefly."),
        ("Garden notes", "Tomatoes need water every morning."))

    hits = await search("overdue invoice", owner_id=None)

    assert [hit.document_id for hit in hits] == [invoice]
    assert "**overdue**" in hits[0].snippet.lower() or "**invoice**" in hits[0].snippet.lower()
    assert hits[0].method == "fulltext" and hits[0].score > 0


async def test_words_are_stemmed_and_a_title_match_outranks_a_passing_mention() -> None:
    titled, mentioned = await _documents(("Deploying workflows", "Steps to ship a release."),
                                         ("Misc", "Notes about many things, one of which is a workflow."))

    hits = await search("workflow", owner_id=None)

    assert [hit.document_id for hit in hits] == [titled, mentioned]


async def test_a_user_sees_only_their_own_documents_and_none_means_everyone() -> None:
    alice, bob = await _user(), await _user()
    [alices] = await _documents(("Quarterly budget", "Budget for Alice's team."), owner_id=alice)
    [bobs] = await _documents(("Budget draft", "Budget for Bob's team."), owner_id=bob)

    assert [hit.document_id for hit in await search("budget", owner_id=alice)] == [alices]
    assert [hit.document_id for hit in await search("budget", owner_id=bob)] == [bobs]
    assert {hit.document_id for hit in await search("budget", owner_id=None)} == {alices, bobs}


@pytest.mark.parametrize("query", ['"AND OR (', '"', "*", "budget*", "NEAR(budget plan, 2)", "title:budget",
                                   "'; DROP TABLE documents; --", "-budget", "or", "^budget", "(((", "a AND"])
async def test_hostile_queries_give_results_or_nothing_never_an_error(query: str) -> None:
    await _documents(("Budget plan", "AND OR NOT NEAR budget plan for the year"))

    hits = await search(query, owner_id=None)

    assert isinstance(hits, list)
    async with open_session() as session:  # the table is still there
        assert len((await session.exec(select(Document))).all()) == 1


async def test_websearch_syntax_means_the_same_on_both_databases() -> None:
    plan, report = await _documents(("Budget plan", "The budget plan for next year."),
                                    ("Budget report", "Last year's budget, as spent."))

    assert [hit.document_id for hit in await search('"budget plan"', owner_id=None)] == [plan]
    assert [hit.document_id for hit in await search("budget -plan", owner_id=None)] == [report]
    assert {hit.document_id for hit in await search("plan or spent", owner_id=None)} == {plan, report}


@pytest.mark.parametrize(("query", "limit"), [("", 10), ("   ", 10), ("x" * 501, 10), ("budget", 0),
                                              ("budget", 101)])
async def test_blank_or_oversized_queries_and_bad_limits_are_refused(query: str, limit: int) -> None:
    with pytest.raises(errors.ValidationFailed):
        await search(query, owner_id=None, limit=limit)


async def test_editing_and_deleting_a_document_updates_the_index() -> None:
    [doc_id] = await _documents(("Old title", "Apples and pears."))
    async with open_session() as session:
        document = await session.get(Document, doc_id)
        assert document is not None
        document.content = "Oranges and lemons."
        await session.commit()

    assert await search("apples", owner_id=None) == []
    assert [hit.document_id for hit in await search("lemons", owner_id=None)] == [doc_id]

    async with open_session() as session:
        await session.exec(delete(Document).where(Document.id == doc_id))  # type: ignore[call-overload]
        await session.commit()
    assert await search("lemons", owner_id=None) == []


async def test_limit_cuts_the_list() -> None:
    await _documents(*((f"Report {index}", "quarterly numbers") for index in range(5)))

    assert len(await search("quarterly", owner_id=None, limit=3)) == 3


async def test_semantic_reranking_moves_the_closest_meaning_first(embedding_server: FakeOpenAIServer) -> None:
    # The title match wins on text rank; the fake embedding (a bag of words) prefers the document
    # whose words are nearly the query's.
    titled, close, *_ = await _documents(
        ("Invoice payment", "Quarterly review of hiring, travel, office furniture, marketing events and terms."),
        ("Notes", "an invoice payment"),
        *((f"Unrelated {index}", "garden tomatoes water") for index in range(4)))

    fulltext = await search("invoice payment", owner_id=None, rerank=False)
    reranked = await search("invoice payment", owner_id=None)

    assert [hit.document_id for hit in fulltext] == [titled, close]
    assert [hit.document_id for hit in reranked] == [close, titled]
    assert {hit.method for hit in reranked} == {"fulltext+semantic"}
    [call] = embedding_server.requests
    assert call.path == "/v1/embeddings" and call.body["input"][0] == "invoice payment"
    async with open_session() as session:
        usage = (await session.exec(select(AIUsage))).all()
    assert [(row[0].operation, row[0].provider) for row in usage] == [("embed", "openai")]


async def test_a_failing_embedding_provider_leaves_the_fulltext_order(embedding_server: FakeOpenAIServer) -> None:
    await _documents(("Invoice", "payment terms"), ("Notes", "invoice payment"))
    embedding_server.fail_next(500)

    hits = await search("invoice payment", owner_id=None)

    assert len(hits) == 2 and {hit.method for hit in hits} == {"fulltext"}


@pytest.mark.parametrize(("query", "expected"), [
    ("budget plan", '(("budget" AND "plan"))'),
    ('"budget plan" -draft', '(("budget plan") NOT ("draft"))'),
    ("a or b", '(("a")) OR (("b"))'),
    ('NEAR( "x', '(("NEAR" AND "x"))'),
    ("* ( -", ""),
])
def test_fts5_match_quotes_every_term(query: str, expected: str) -> None:
    assert fts5_match(query) == expected
