"""The document library: upload, read, rename and tag, edit (a new version), delete, versions, originals.

Every public function takes the acting user and the session keyword-only, checks access, and
commits once at its end. A document is visible to its owner and to admins; to anyone else it
does not exist (``NotFound``, never a hint that the id is taken).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import PurePath

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.document import (
    Document,
    DocumentDetail,
    DocumentDiff,
    DocumentPublic,
    DocumentSource,
    DocumentStatus,
    DocumentUpdate,
    DocumentVersion,
    DocumentVersionPublic,
)
from models.user import Role, User
from services import errors
from services.auth.audit import record_audit
from services.auth.permissions import Permission, require
from services.documents.diff import side_by_side, unified
from services.documents.export import ExportedFile, ExportFormat, export_document
from services.documents.formats import KINDS, FileKind, kind_of, signature_matches
from services.documents.originals import drop_if_unused, lock_originals
from services.documents.rendering import render_markdown
from services.documents.storage.base import content_digest
from services.documents.storage.registry import get_storage
from services.settings import get_settings


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    data: bytes
    size: int | None = None
    """The file's full size when ``data`` was cut short at the size cap (a streamed upload keeps no more)."""


def public(document: Document, snippet: str | None = None) -> DocumentPublic:
    return DocumentPublic.model_validate(document, from_attributes=True).model_copy(update={"snippet": snippet})


def _clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip().lower()[:40] for tag in tags if tag.strip()))[:20]


async def get(actor: User, document_id: uuid.UUID, *, session: AsyncSession) -> Document:
    """The document if ``actor`` owns it or is an admin; ``NotFound`` otherwise."""
    document = await session.get(Document, document_id)
    if document is None or (document.owner_id != actor.id and actor.role is not Role.ADMIN):
        raise errors.NotFound(f"Document {document_id} does not exist.")
    return document


async def detail(actor: User, document_id: uuid.UUID, *, session: AsyncSession) -> DocumentDetail:
    document = await get(actor, document_id, session=session)
    return DocumentDetail.model_validate(document, from_attributes=True)


async def upload(actor: User, files: list[UploadedFile], *, session: AsyncSession,
                 tags: list[str] | None = None) -> list[Document]:
    """Store each file's original and create its document, pending extraction.

    A file that cannot be read (unsupported type, empty, too large, not what its name says)
    becomes a ``failed`` document with the reason, so the others of the batch still go in.
    The caller starts extraction of the pending ones after this returns (``schedule_extraction``).
    """
    require(actor.role, Permission.EDIT_WORKFLOWS)
    settings = get_settings()
    if not files:
        raise errors.ValidationFailed("Choose at least one file to upload.",
                                      details=[{"field": "files", "message": "no file"}])
    if len(files) > settings.document_max_files_per_upload:
        raise errors.ValidationFailed(
            f"{len(files)} files at once is too many; upload at most {settings.document_max_files_per_upload}.",
            details=[{"field": "files", "message": f"at most {settings.document_max_files_per_upload} files"}])
    storage = get_storage()
    documents, accepted = [], []
    for file in files:
        name = PurePath(file.filename or "untitled").name[:300] or "untitled"
        size = len(file.data) if file.size is None else file.size
        document = Document(owner_id=actor.id, title=PurePath(name).stem[:300] or name, source=DocumentSource.UPLOAD,
                            original_name=name, size_bytes=size, tags=_clean_tags(tags or []),
                            status=DocumentStatus.PENDING, progress=0, current_version=0)
        problem, kind = _refusal(name, file.data, size)
        if kind is not None:
            document.mime_type = KINDS[kind].mime_type
        if problem is not None:
            document.status, document.error = DocumentStatus.FAILED, problem
        else:
            document.original_hash = content_digest(file.data)
            accepted.append(file.data)
        documents.append(document)
    await lock_originals(session, [content_digest(data) for data in accepted])
    for data in accepted:
        await storage.put(data)
    session.add_all(documents)
    for document in documents:
        record_audit(session, "document.upload", actor_id=actor.id, target=f"document:{document.id}")
    await session.commit()
    return documents


def _refusal(name: str, data: bytes, size: int) -> tuple[str | None, FileKind | None]:
    """Why the file cannot be taken (None if it can), and its kind when known."""
    settings = get_settings()
    try:
        kind = kind_of(name)
    except errors.ValidationFailed as exc:
        return exc.message, None
    if max(size, len(data)) > settings.document_max_bytes:
        megabytes = max(size, len(data)) / (1024 * 1024)
        limit = settings.document_max_mb
        return f"The file is {megabytes:.1f} MB; the limit is {limit:g} MB (DOCUMENT_MAX_MB).", kind
    if not data:
        return "The file is empty.", kind
    if not signature_matches(kind, data):
        return f"The file is named .{kind.value} but its content is not a {kind.value.upper()} file.", kind
    return None, kind


async def statuses(actor: User, document_ids: list[uuid.UUID], *, session: AsyncSession) -> list[Document]:
    """Those of ``document_ids`` that ``actor`` may read (to follow their extraction); the others are left out."""
    if not document_ids:
        return []
    query = select(Document).where(col(Document.id).in_(document_ids))
    if actor.role is not Role.ADMIN:
        query = query.where(col(Document.owner_id) == actor.id)
    return list((await session.exec(query)).all())


async def update(actor: User, document_id: uuid.UUID, changes: DocumentUpdate, *,
                 session: AsyncSession) -> Document:
    """Rename, retag, or save new Markdown as the next version (by ``actor``)."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    document = await get(actor, document_id, session=session)
    if changes.title is not None:
        if not changes.title.strip():
            raise errors.ValidationFailed("A title cannot be blank.", details=[{"field": "title",
                                                                                "message": "must not be blank"}])
        document.title = changes.title.strip()
    if changes.tags is not None:
        document.tags = _clean_tags(changes.tags)
    if changes.content is not None and changes.content != document.content:
        if document.status is not DocumentStatus.READY:
            raise errors.Conflict(f"The document is {document.status.value}; edit it once it is ready.")
        document.current_version += 1
        document.content = changes.content
        document.words = len(changes.content.split())
        session.add(DocumentVersion(document_id=document.id, number=document.current_version,
                                    content=changes.content, author_id=actor.id))
    document.updated_at = utcnow()
    session.add(document)
    await session.commit()
    await session.refresh(document)
    return document


async def delete(actor: User, document_id: uuid.UUID, *, session: AsyncSession) -> None:
    """Delete the document and its versions; its original goes too unless another document shares it."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    document = await get(actor, document_id, session=session)
    digest = document.original_hash
    await session.delete(document)
    record_audit(session, "document.delete", actor_id=actor.id, target=f"document:{document_id}")
    await session.commit()
    # Only once the delete is committed may its original go: a failed commit keeps both. A crash
    # in between leaves a file no document refers to (space, not data).
    if digest is not None:
        await lock_originals(session, [digest])
        await drop_if_unused(session, digest)
        await session.commit()


async def versions(actor: User, document_id: uuid.UUID, *, session: AsyncSession) -> list[DocumentVersionPublic]:
    """Every version of the document, newest first."""
    await get(actor, document_id, session=session)
    rows = (await session.exec(select(DocumentVersion).where(col(DocumentVersion.document_id) == document_id)
                               .order_by(col(DocumentVersion.number).desc()))).all()
    return [DocumentVersionPublic(number=row.number, author_id=row.author_id, run_id=row.run_id, node_id=row.node_id,
                                  created_at=row.created_at, words=len(row.content.split())) for row in rows]


async def version_content(actor: User, document_id: uuid.UUID, number: int | None, *,
                          session: AsyncSession) -> tuple[Document, str]:
    """The document and the Markdown of version ``number`` (the current one when None)."""
    document = await get(actor, document_id, session=session)
    if number is None or number == document.current_version:
        return document, document.content
    row = (await session.exec(select(DocumentVersion).where(col(DocumentVersion.document_id) == document_id,
                                                            col(DocumentVersion.number) == number))).first()
    if row is None:
        raise errors.NotFound(f"Document {document_id} has no version {number}; it has 1 to "
                              f"{document.current_version}.")
    return document, row.content


async def original(actor: User, document_id: uuid.UUID, *, session: AsyncSession) -> tuple[Document, bytes]:
    """The document and its uploaded file's bytes; ``NotFound`` for documents that have none."""
    document = await get(actor, document_id, session=session)
    if document.original_hash is None:
        raise errors.NotFound("This document has no original file (it was written by a run or was refused).")
    return document, await get_storage().get(document.original_hash)


async def export(actor: User, document_id: uuid.UUID, fmt: ExportFormat, *, session: AsyncSession,
                 version: int | None = None) -> ExportedFile:
    """The document (or one of its versions) as a Markdown, HTML, DOCX or PDF file."""
    document, markdown = await version_content(actor, document_id, version, session=session)
    return await asyncio.to_thread(export_document, document.title, markdown, fmt)


async def diff(actor: User, document_id: uuid.UUID, from_version: int, to_version: int, *,
               session: AsyncSession) -> DocumentDiff:
    """Versions ``from_version`` and ``to_version`` side by side."""
    _, left = await version_content(actor, document_id, from_version, session=session)
    _, right = await version_content(actor, document_id, to_version, session=session)
    rows, added, removed = side_by_side(left, right)
    return DocumentDiff(document_id=document_id, from_version=from_version, to_version=to_version, added=added,
                        removed=removed, rows=rows,
                        unified=unified(left, right, f"version {from_version}", f"version {to_version}"))


async def rendered(actor: User, document_id: uuid.UUID, *, session: AsyncSession, version: int | None = None) -> str:
    """Sanitised HTML of the document's Markdown (or of one version's)."""
    _, markdown = await version_content(actor, document_id, version, session=session)
    return render_markdown(markdown)
