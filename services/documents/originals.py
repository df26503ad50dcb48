"""Keeping an original file exactly as long as a document refers to it, with uploads and deletes at once.

The store is content-addressed: the same bytes uploaded twice share one file. Without a lock, a
delete that finds no other document using the file could remove it just after a concurrent upload
found it already stored and before that upload's row was committed: the new document would point at
nothing. So both hold the digest's lock for their whole transaction: an upload from before it stores
the file until its row is committed; a delete, once its row's removal is committed, from before it
counts the references until the file is gone (an upload after that stores the file again).
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.document import Document
from services import errors
from services.documents.storage.registry import get_storage

log = logging.getLogger(__name__)


async def lock_originals(session: AsyncSession, digests: list[str]) -> None:
    """Hold each digest's lock until the session's transaction ends (in sorted order: no deadlock)."""
    connection = await session.connection()  # SQLite begins IMMEDIATE here: one writer at a time already
    if connection.dialect.name != "postgresql":
        return
    for digest in sorted(set(digests)):
        await connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                                 {"key": f"document-original:{digest}"})


async def drop_if_unused(session: AsyncSession, digest: str) -> None:
    """Remove the original once no document refers to it; call with the lock held, after committing the delete."""
    used = (await session.exec(select(func.count()).select_from(Document)
                               .where(col(Document.original_hash) == digest))).one()
    if used:
        return
    try:
        await get_storage().delete(digest)
    except errors.DomainError:  # a file left behind costs space, not correctness: the delete goes on
        log.warning("could not remove the unused original %s from the store", digest[:12], exc_info=True)
