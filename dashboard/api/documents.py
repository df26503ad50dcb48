"""Documents: upload (multipart, several files), list and search, read, edit, delete, versions, export, diff."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from dashboard.api.deps import CurrentUser, SessionDep
from models.document import (
    BatchRunPublic,
    BatchRunRequest,
    DocumentDetail,
    DocumentDiff,
    DocumentPublic,
    DocumentSource,
    DocumentsPublic,
    DocumentStatus,
    DocumentUpdate,
    DocumentVersionPublic,
)
from services.documents import batch
from services.documents import service as documents
from services.documents.export import ExportFormat
from services.documents.library_query import list_documents
from services.documents.processing import schedule_extraction
from services.documents.service import UploadedFile

router = APIRouter(prefix="/documents", tags=["documents"])
UPLOAD_PATH = "/documents"


def _attachment(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@router.post("", response_model=list[DocumentPublic], status_code=201)
async def upload_documents(user: CurrentUser, session: SessionDep, files: Annotated[list[UploadFile], File()],
                           tags: Annotated[str, Form(max_length=400)] = "") -> list[DocumentPublic]:
    """Upload one or more files (``files`` parts); each is extracted to Markdown in the background."""
    uploaded = [UploadedFile(file.filename or "untitled", await file.read()) for file in files]
    created = await documents.upload(user, uploaded, session=session, tags=tags.split(","))
    schedule_extraction([d.id for d in created if d.status is DocumentStatus.PENDING])
    return [documents.public(d) for d in created]


@router.get("", response_model=DocumentsPublic)
async def list_library(user: CurrentUser, session: SessionDep, q: Annotated[str, Query(max_length=500)] = "",
                       tag: Annotated[str, Query(max_length=40)] = "",
                       mime_type: Annotated[str, Query(max_length=100)] = "",
                       source: DocumentSource | None = None, status: DocumentStatus | None = None,
                       owner_id: uuid.UUID | None = None, created_after: datetime | None = None,
                       created_before: datetime | None = None, offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> DocumentsPublic:
    """A page of your documents (an admin sees everyone's), newest first or best match first with ``q``."""
    return await list_documents(user, session=session, q=q, tag=tag, mime_type=mime_type, source=source,
                                status=status, owner_id=owner_id, created_after=created_after,
                                created_before=created_before, offset=offset, limit=limit)


@router.post("/batch-runs", response_model=BatchRunPublic, status_code=201)
async def start_batch_run(body: BatchRunRequest, user: CurrentUser, session: SessionDep) -> BatchRunPublic:
    """Run one workflow over many documents (each run gets ``document_id``); refused documents say why."""
    return await batch.start_batch(user, body.workflow_id, body.document_ids, session=session)


@router.get("/batch-runs/{batch_id}", response_model=BatchRunPublic)
async def batch_run_status(batch_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> BatchRunPublic:
    """Each document's run status and the documents it wrote."""
    return await batch.batch_status(user, batch_id, session=session)


@router.get("/{document_id}", response_model=DocumentDetail)
async def get_document(document_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> DocumentDetail:
    return await documents.detail(user, document_id, session=session)


@router.get("/{document_id}/html")
async def rendered_document(document_id: uuid.UUID, user: CurrentUser, session: SessionDep,
                            version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, str]:
    """The Markdown rendered to sanitised HTML (no scripts, handlers or javascript: links)."""
    return {"html": await documents.rendered(user, document_id, session=session, version=version)}


@router.patch("/{document_id}", response_model=DocumentPublic)
async def update_document(document_id: uuid.UUID, body: DocumentUpdate, user: CurrentUser,
                          session: SessionDep) -> DocumentPublic:
    """Rename, retag, or save new Markdown (which becomes the next version)."""
    return documents.public(await documents.update(user, document_id, body, session=session))


@router.delete("/{document_id}", status_code=204)
async def delete_document(document_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    await documents.delete(user, document_id, session=session)
    return Response(status_code=204)


@router.get("/{document_id}/versions", response_model=list[DocumentVersionPublic])
async def document_versions(document_id: uuid.UUID, user: CurrentUser,
                            session: SessionDep) -> list[DocumentVersionPublic]:
    return await documents.versions(user, document_id, session=session)


@router.get("/{document_id}/export", response_class=Response,
            responses={200: {"description": "The document as a file.",
                             "content": {"text/markdown": {}, "text/html": {}, "application/pdf": {}}}})
async def export_document(document_id: uuid.UUID, user: CurrentUser, session: SessionDep,
                          format: ExportFormat = ExportFormat.MD,
                          version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """Download as md, html, docx or pdf (the current version, or ``version``)."""
    exported = await documents.export(user, document_id, format, session=session, version=version)
    return Response(exported.data, media_type=exported.media_type,
                    headers={"Content-Disposition": _attachment(exported.filename)})


@router.get("/{document_id}/diff", response_model=DocumentDiff)
async def diff_versions(document_id: uuid.UUID, user: CurrentUser, session: SessionDep,
                        from_version: Annotated[int, Query(alias="from", ge=1)],
                        to_version: Annotated[int, Query(alias="to", ge=1)]) -> DocumentDiff:
    """Two versions side by side, with a unified diff."""
    return await documents.diff(user, document_id, from_version, to_version, session=session)


@router.get("/{document_id}/original", response_class=Response,
            responses={200: {"description": "The uploaded file, byte for byte."}})
async def original_file(document_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    document, data = await documents.original(user, document_id, session=session)
    # Served as a download, never rendered by the browser: an uploaded HTML file must not run on our origin.
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": _attachment(document.original_name or "original"),
                             "X-Content-Type-Options": "nosniff"})
