"""One workflow over many library documents: a run per document, with per-document status.

Each run gets the document in ``document_id`` (the input node reads it as ``document``) and the
batch id in ``batch_id``; a document the workflow refuses (not ready, not yours, a required input
missing) is reported on its own line while the others run.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Text, cast
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.document import BatchRunItem, BatchRunPublic, DocumentVersion
from models.run import Run, RunStatus, Trigger
from models.user import Role, User
from services import errors
from services.auth.permissions import Permission, require
from services.documents.workflow_inputs import BATCH_DOCUMENT_PARAMETER
from services.workflows import runs

BATCH_PARAMETER = "batch_id"


async def start_batch(actor: User, workflow_id: int, document_ids: list[uuid.UUID], *,
                      session: AsyncSession) -> BatchRunPublic:
    """Start one run of ``workflow_id`` per document; refused documents get their reason."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    batch_id = uuid.uuid4()
    items = []
    for document_id in dict.fromkeys(document_ids):
        parameters = {BATCH_DOCUMENT_PARAMETER: str(document_id), BATCH_PARAMETER: str(batch_id)}
        try:
            run = await runs.start_run(workflow_id, parameters, session=session, trigger=Trigger.API, actor=actor)
        except (errors.ValidationFailed, errors.NotFound, errors.Conflict) as exc:
            if isinstance(exc, errors.NotFound) and "Workflow" in exc.message:
                raise
            await session.rollback()
            items.append(BatchRunItem(document_id=document_id, run_id=None, status="refused", error=exc.message))
            continue
        items.append(BatchRunItem(document_id=document_id, run_id=run.id, status=run.status.value))
    return BatchRunPublic(batch_id=batch_id, workflow_id=workflow_id, items=items,
                          done=sum(item.run_id is None for item in items), total=len(items))


async def batch_status(actor: User, batch_id: uuid.UUID, *, session: AsyncSession) -> BatchRunPublic:
    """Where each run of the batch is, with the documents it wrote."""
    query = select(Run).where(cast(col(Run.parameters), Text).like(f'%"{BATCH_PARAMETER}": "{batch_id}"%'))
    if actor.role is not Role.ADMIN:
        query = query.where(col(Run.created_by) == actor.id)
    found = list((await session.exec(query.order_by(col(Run.created_at)))).all())
    if not found:
        raise errors.NotFound(f"Batch {batch_id} does not exist.")
    outputs = (await session.exec(select(DocumentVersion.run_id, DocumentVersion.document_id)
                                  .where(col(DocumentVersion.run_id).in_([run.id for run in found])))).all()
    written: dict[uuid.UUID, list[uuid.UUID]] = {}
    for run_id, document_id in outputs:
        if run_id is not None:
            written.setdefault(run_id, []).append(document_id)
    items = [BatchRunItem(document_id=uuid.UUID(str(run.parameters[BATCH_DOCUMENT_PARAMETER])), run_id=run.id,
                          status=run.status.value, error=run.error, output_document_ids=written.get(run.id, []))
             for run in found]
    finished = {RunStatus.SUCCEEDED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value}
    return BatchRunPublic(batch_id=batch_id, workflow_id=found[0].workflow_id, items=items,
                          done=sum(item.status in finished for item in items), total=len(items))
