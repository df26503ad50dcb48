"""Documents as workflow inputs: checking who may feed which document to a run, and loading them for nodes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.document import Document, DocumentStatus
from models.user import Role, User
from services import errors
from services.db import open_session

BATCH_DOCUMENT_PARAMETER = "document_id"
"""The parameter a batch run over library documents sets; the input node reads that document as ``document``."""


def as_document_id(value: object, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise errors.ValidationFailed(f"Input {field!r} must be a document id from the library.",
                                      details=[{"field": f"parameters.{field}", "message": "not a document id"}]) \
            from None


async def check_run_documents(actor: User | None, names: list[str], parameters: dict[str, Any], *,
                              session: AsyncSession) -> None:
    """Refuse a run whose document inputs name documents ``actor`` may not read, or that are not ready."""
    for name in names:
        if name not in parameters:
            continue
        document_id = as_document_id(parameters[name], name)
        document = await session.get(Document, document_id)
        readable = document is not None and (actor is None or actor.role is Role.ADMIN
                                             or document.owner_id == actor.id)
        if document is None or not readable:
            raise errors.NotFound(f"Document {document_id} (input {name!r}) does not exist.")
        if document.status is not DocumentStatus.READY:
            raise errors.ValidationFailed(
                f"Document {document.title!r} is {document.status.value}; a run can read it once it is ready.",
                details=[{"field": f"parameters.{name}", "message": f"document is {document.status.value}"}])


async def load_document_for_run(document_id: uuid.UUID, owner_id: uuid.UUID | None) -> dict[str, Any]:
    """What a node sees of a document: id, title, content, metadata; ``ExecutionFailed`` if not the owner's."""
    async with open_session() as session:
        document = await session.get(Document, document_id)
    if document is None or (owner_id is not None and document.owner_id != owner_id):
        raise errors.ExecutionFailed(f"Document {document_id} does not exist or belongs to someone else.")
    if document.status is not DocumentStatus.READY:
        raise errors.ExecutionFailed(f"Document {document.title!r} is {document.status.value}, not ready to read.")
    return {"id": str(document.id), "title": document.title, "content": document.content,
            "mime_type": document.mime_type, "pages": document.pages, "words": document.words,
            "tags": list(document.tags), "version": document.current_version}
