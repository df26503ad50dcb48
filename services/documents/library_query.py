"""Listing the library: filters, full-text search with highlighted snippets, pagination.

Search reads the same index as ``services/ai/search.py`` (SQLite FTS5 ``documents_fts``,
PostgreSQL ``search_vector``) with the same query syntax; here it is combined with the filters
and ranked, a page is cut, and snippets are built for that page only (FTS5's ``snippet()`` on
SQLite; on PostgreSQL in Python, see ``services/documents/snippets.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Text, Uuid, bindparam, cast, column, func, literal_column, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from models.document import Document, DocumentSource, DocumentsPublic, DocumentStatus
from models.user import Role, User
from services import errors
from services.ai.search import HIGHLIGHT, MAX_QUERY_CHARS, fts5_match
from services.documents.service import public
from services.documents.snippets import query_stems, snippet


async def list_documents(actor: User, *, session: AsyncSession, q: str = "", tag: str = "", mime_type: str = "",
                         source: DocumentSource | None = None, status: DocumentStatus | None = None,
                         owner_id: uuid.UUID | None = None, created_after: datetime | None = None,
                         created_before: datetime | None = None, offset: int = 0, limit: int = 50) -> DocumentsPublic:
    """A page of the documents ``actor`` may see (their own; an admin's ``owner_id`` filter may name anyone's)."""
    if len(q) > MAX_QUERY_CHARS:
        raise errors.ValidationFailed(f"The search is {len(q)} characters long; use at most {MAX_QUERY_CHARS}.",
                                      details=[{"field": "q", "message": f"at most {MAX_QUERY_CHARS} characters"}])
    if actor.role is not Role.ADMIN:
        owner_id = actor.id
    # Ids first, with the total as a window count (one narrow pass over the matches, no second COUNT
    # query); whole rows are then read for the page only.
    query = select(col(Document.id), func.count().over().label("total"))
    if owner_id is not None:
        query = query.where(col(Document.owner_id) == owner_id)
    if tag.strip():
        query = query.where(func.lower(cast(col(Document.tags), Text)).like(f'%"{tag.strip().lower()}"%'))
    if mime_type:
        query = query.where(col(Document.mime_type) == mime_type)
    if source is not None:
        query = query.where(col(Document.source) == source)
    if status is not None:
        query = query.where(col(Document.status) == status)
    if created_after is not None:
        query = query.where(col(Document.created_at) >= created_after)
    if created_before is not None:
        query = query.where(col(Document.created_at) < created_before)
    dialect = session.get_bind().dialect.name
    ranked = q.strip() != ""
    if ranked:
        searched = _searched(query, q, dialect)
        if searched is None:
            return DocumentsPublic(data=[], count=0)
        query = searched
    if not ranked:
        query = query.order_by(col(Document.updated_at).desc(), col(Document.id))
    rows = (await session.exec(query.offset(offset).limit(limit))).all()
    ids = [document_id for document_id, _ in rows]
    loaded = {d.id: d for d in (await session.exec(select(Document).where(col(Document.id).in_(ids)))).all()}
    documents = [loaded[document_id] for document_id in ids if document_id in loaded]
    if rows:
        count = int(rows[0][1])
    else:
        count = (await session.exec(select(func.count()).select_from(query.subquery()))).one() if offset else 0
    snippets = await _snippets(session, q, documents, dialect) if ranked and documents else {}
    return DocumentsPublic(data=[public(d, snippets.get(d.id)) for d in documents], count=count)


def _searched(query: Select[uuid.UUID, int], q: str, dialect: str) -> Select[uuid.UUID, int] | None:
    if dialect == "postgresql":
        tsq = func.websearch_to_tsquery("english", q)
        vector: ColumnElement[Any] = literal_column("documents.search_vector")
        return (query.where(vector.op("@@")(tsq))
                .order_by(func.ts_rank_cd(vector, tsq, 1).desc(), col(Document.id)))
    match = fts5_match(q)
    if not match:
        return None
    hits = text("SELECT document_id, bm25(documents_fts, 0.0, 10.0, 1.0) AS rank FROM documents_fts "
                "WHERE documents_fts MATCH :match").bindparams(match=match).columns(
        column("document_id", Uuid), column("rank", Float)).subquery("hits")
    return (query.join(hits, hits.c.document_id == col(Document.id))
            .order_by(hits.c.rank, col(Document.id)))


async def _snippets(session: AsyncSession, q: str, documents: list[Document], dialect: str) -> dict[uuid.UUID, str]:
    if dialect == "postgresql":
        stems = query_stems(q)
        return {d.id: snippet(f"{d.title}\n{d.content}", stems) for d in documents}
    sql = text(f"""SELECT document_id AS id,
                          snippet(documents_fts, -1, '{HIGHLIGHT}', '{HIGHLIGHT}', '…', 24) AS snippet
                   FROM documents_fts WHERE documents_fts MATCH :match AND document_id IN :ids""")  # noqa: S608
    statement = sql.bindparams(bindparam("ids", expanding=True, type_=Uuid)).columns(id=Uuid)
    rows = (await (await session.connection()).execute(
        statement, {"match": fts5_match(q), "ids": [d.id for d in documents]})).all()
    return {row.id: row.snippet or "" for row in rows}


async def ready_documents(actor: User, *, session: AsyncSession, limit: int = 200) -> list[tuple[uuid.UUID, str]]:
    """(id, title) of ``actor``'s ready documents, newest first: what a run dialog offers as document inputs."""
    rows = await session.exec(select(col(Document.id), col(Document.title))
                              .where(col(Document.owner_id) == actor.id, col(Document.status) == DocumentStatus.READY)
                              .order_by(col(Document.updated_at).desc()).limit(limit))
    return [(document_id, title) for document_id, title in rows.all()]
