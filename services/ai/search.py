"""Search the product's documents: full-text ranking in the database, then optional semantic re-ranking.

Full text runs where the documents are (migrations 0004, 0007): SQLite's FTS5 table ``documents_fts``
ranked by ``bm25`` (title ten times content) with ``snippet()``, or PostgreSQL's ``search_vector``
ranked by ``ts_rank_cd`` with ``ts_headline``. Both stem English words, and both read the query
as a search box does (``websearch_to_tsquery``'s syntax): words must all appear, ``"quoted
words"`` form a phrase, ``or`` offers alternatives and ``-word`` excludes; any other character is
a separator, so no input is a syntax error.

When ``AI_EMBEDDING_PROVIDER`` names a configured provider, the query and the best
:data:`RERANK_CANDIDATES` full-text matches are embedded (one call, recorded as AI usage) and
re-ranked by a blend of cosine similarity and the normalised text rank. Should that call fail,
the full-text order stands.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import TextClause, TextualSelect, Uuid, bindparam, text

from services import errors
from services.ai import service
from services.ai.registry import get_provider
from services.ai.usage import CallContext
from services.db import get_engine, open_read_connection
from services.settings import get_settings

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_LIMIT = 100
RERANK_CANDIDATES = 50
SEMANTIC_WEIGHT = 0.7
"""Share of cosine similarity in a re-ranked score; the rest is the text rank over the best one's."""
EMBEDDED_CHARS = 4000
"""What of a document is embedded: its title and the start of its content (bounds the tokens per search)."""
HIGHLIGHT = "**"
"""Matched words in a snippet are wrapped in Markdown bold; the rest is the document's own text, unescaped."""

SearchMethod = Literal["fulltext", "fulltext+semantic"]


class SearchHit(BaseModel):
    """One matching document; ``score`` is higher for better hits and compares only within one answer."""

    document_id: uuid.UUID
    title: str
    snippet: str = Field(description=f"Text around the match, matched words wrapped in {HIGHLIGHT}.")
    score: float
    method: SearchMethod


_Query = tuple[TextualSelect, dict[str, object]]


@dataclass(frozen=True)
class _Candidate:
    document_id: uuid.UUID
    title: str
    snippet: str
    text_rank: float
    excerpt: str


async def search(query: str, *, owner_id: uuid.UUID | None, limit: int = 10, rerank: bool = True,
                 context: CallContext | None = None) -> list[SearchHit]:
    """The documents best matching ``query``, best first: the owner's, or everyone's when ``owner_id`` is None.

    The caller decides visibility (only admins should pass ``owner_id=None``). Raises
    ValidationFailed for a blank or too long query or a limit outside 1..100. An embedding call
    for re-ranking is recorded against ``context`` (by default the owner).
    """
    _validate(query, limit)
    semantic = rerank and _embedding_ready()
    candidates = await _fulltext(query, owner_id, max(limit, RERANK_CANDIDATES) if semantic else limit,
                                 with_excerpt=semantic)
    if not candidates:
        return []
    best_rank = max(candidate.text_rank for candidate in candidates)
    relevance = [_share(candidate.text_rank, best_rank) for candidate in candidates]
    method: SearchMethod = "fulltext"
    if semantic and len(candidates) > 1:
        similarities = await _similarities(query, candidates, context or CallContext(user_id=owner_id))
        if similarities is not None:
            relevance = [SEMANTIC_WEIGHT * similarity + (1 - SEMANTIC_WEIGHT) * text_share
                         for similarity, text_share in zip(similarities, relevance, strict=True)]
            method = "fulltext+semantic"
    ranked = sorted(zip(relevance, candidates, strict=True), key=lambda pair: pair[0], reverse=True)[:limit]
    return [SearchHit(document_id=candidate.document_id, title=candidate.title, snippet=candidate.snippet,
                      score=round(score, 6), method=method) for score, candidate in ranked]


def _validate(query: str, limit: int) -> None:
    if not query.strip():
        raise errors.ValidationFailed("The search is empty; type the words to look for.",
                                      details=[{"field": "query", "message": "must not be empty"}])
    if len(query) > MAX_QUERY_CHARS:
        raise errors.ValidationFailed(f"The search is {len(query)} characters long; use at most {MAX_QUERY_CHARS}.",
                                      details=[{"field": "query", "message": f"at most {MAX_QUERY_CHARS} characters"}])
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.ValidationFailed(f"A search returns 1 to {MAX_LIMIT} documents; ask for a limit in that range.",
                                      details=[{"field": "limit", "message": f"between 1 and {MAX_LIMIT}"}])


def _embedding_ready() -> bool:
    name = get_settings().ai_embedding_provider.strip()
    return bool(name) and get_provider(name).is_configured()


def _share(rank: float, best: float) -> float:
    return rank / best if best > 0 else 0.0


async def _fulltext(query: str, owner_id: uuid.UUID | None, limit: int, *, with_excerpt: bool) -> list[_Candidate]:
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        statement, params = _postgres_query(query, owner_id, limit, with_excerpt=with_excerpt)
    else:
        match = fts5_match(query)
        if not match:
            return []
        statement, params = _sqlite_query(match, owner_id, limit, with_excerpt=with_excerpt)
    async with open_read_connection() as conn:  # no transaction: on SQLite one takes the write lock
        rows = (await conn.execute(statement, params)).all()
    return [_Candidate(document_id=row.id, title=row.title, snippet=row.snippet or "", text_rank=float(row.rank),
                       excerpt=row.excerpt or "") for row in rows]


def _sqlite_query(match: str, owner_id: uuid.UUID | None, limit: int, *, with_excerpt: bool) -> _Query:
    owner = "AND d.owner_id = :owner" if owner_id is not None else ""
    excerpt = f"substr(d.title || char(10) || d.content, 1, {EMBEDDED_CHARS})" if with_excerpt else "NULL"
    # bm25 is lower for better matches; column weights: document id 0 (unindexed), title 10, content 1.
    sql = text(f"""
        SELECT d.id AS id, d.title AS title,
               snippet(documents_fts, -1, '{HIGHLIGHT}', '{HIGHLIGHT}', '…', 24) AS snippet,
               -bm25(documents_fts, 0.0, 10.0, 1.0) AS rank, {excerpt} AS excerpt
        FROM documents_fts JOIN documents AS d ON d.id = documents_fts.document_id
        WHERE documents_fts MATCH :match {owner}
        ORDER BY bm25(documents_fts, 0.0, 10.0, 1.0) LIMIT :limit""")  # noqa: S608 (fixed fragments, values bound)
    return _typed(sql, owner_id), {"match": match, "owner": owner_id, "limit": limit}


def _postgres_query(query: str, owner_id: uuid.UUID | None, limit: int, *, with_excerpt: bool) -> _Query:
    owner = "AND d.owner_id = :owner" if owner_id is not None else ""
    excerpt = f"left(d.title || E'\\n' || d.content, {EMBEDDED_CHARS})" if with_excerpt else "NULL"
    # Rank first, then build headlines for the kept rows only (ts_headline re-parses the text).
    sql = text(f"""
        SELECT d.id AS id, d.title AS title,
               ts_headline('english', d.title || E'\\n' || d.content, best.tsq,
                           'StartSel="{HIGHLIGHT}", StopSel="{HIGHLIGHT}", MaxWords=35, MinWords=12, MaxFragments=2,
                            FragmentDelimiter=" … "') AS snippet,
               best.rank AS rank, {excerpt} AS excerpt
        FROM (SELECT d.id, q.tsq, ts_rank_cd(d.search_vector, q.tsq, 1) AS rank
              FROM documents AS d, websearch_to_tsquery('english', :query) AS q(tsq)
              WHERE d.search_vector @@ q.tsq {owner}
              ORDER BY rank DESC, d.id LIMIT :limit) AS best
        JOIN documents AS d ON d.id = best.id
        ORDER BY best.rank DESC, d.id""")  # noqa: S608 (fixed fragments, values bound)
    return _typed(sql, owner_id), {"query": query, "owner": owner_id, "limit": limit}


def _typed(sql: TextClause, owner_id: uuid.UUID | None) -> TextualSelect:
    if owner_id is not None:
        sql = sql.bindparams(bindparam("owner", type_=Uuid))
    return sql.columns(id=Uuid)


_TOKEN = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<word>-?[^\s"]+)')
_WORD = re.compile(r"\w+")


def fts5_match(query: str) -> str:
    """``query`` in websearch syntax as an FTS5 MATCH expression of quoted terms ("" when nothing is searchable).

    Only word characters reach FTS5, each inside double quotes, so operators, brackets, ``*``,
    ``NEAR`` and column filters in the input are text, never syntax.
    """
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    for token in _TOKEN.finditer(query):
        raw = token.group("phrase") if token.group("phrase") is not None else token.group("word")
        if token.group("word") is not None and raw.lower() == "or":
            groups.append(([], []))
            continue
        negated = token.group("word") is not None and raw.startswith("-")
        words = _WORD.findall(raw)
        if words:
            groups[-1][1 if negated else 0].append('"' + " ".join(words) + '"')
    expressions = []
    for positive, negative in groups:
        if not positive:
            continue  # FTS5 has no "everything except": a group of exclusions alone matches nothing
        expression = "(" + " AND ".join(positive) + ")"
        if negative:
            expression += " NOT (" + " OR ".join(negative) + ")"
        expressions.append(expression)
    return " OR ".join(f"({expression})" for expression in expressions)


async def _similarities(query: str, candidates: Sequence[_Candidate], context: CallContext) -> list[float] | None:
    """Cosine similarity of each candidate to the query, or None when the embedding call failed."""
    texts = [query, *((candidate.excerpt.strip() or candidate.title.strip() or "untitled") for candidate in candidates)]
    try:
        embedded = await service.embed(texts, context=context)
    except errors.DomainError as failure:
        log.warning("search keeps the full-text order: embedding failed (%s)", failure.message)
        return None
    query_vector, *document_vectors = embedded.vectors
    return [_cosine(query_vector, vector) for vector in document_vectors]


def _cosine(left: Sequence[float], right: Sequence[float]) -> float:
    norms = math.sqrt(sum(x * x for x in left)) * math.sqrt(sum(y * y for y in right))
    return sum(x * y for x, y in zip(left, right, strict=False)) / norms if norms else 0.0

