"""The run viewer's report: a run, its output documents in full, and its output diffed against the
previous successful run of the same workflow.

A run's *output* is the text of the documents its output nodes wrote (in node order); a run
without documents falls back to the content of its last finished step, so a workflow with no
output node still has something to compare.
"""

from __future__ import annotations

import difflib
import uuid
from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.document import Document, DocumentVersion
from models.run import Run, RunStatus, Step, StepStatus
from models.run_report import DiffLine, DocumentContent, RunReport
from models.user import User
from services.workflows import runs

MAX_DIFF_LINES = 2000
DiffKind = Literal["same", "added", "removed"]
_PREFIX_KINDS: dict[str, DiffKind] = {"  ": "same", "+ ": "added", "- ": "removed"}


async def _documents(run_id: uuid.UUID, session: AsyncSession) -> list[DocumentContent]:
    """The versions this run wrote (a later run may have versioned the same document since)."""
    rows = (await session.exec(
        select(Document, DocumentVersion).join(DocumentVersion, col(DocumentVersion.document_id) == col(Document.id))
        .where(col(DocumentVersion.run_id) == run_id)
        .order_by(col(DocumentVersion.node_id), col(Document.title)))).all()
    return [DocumentContent(id=doc.id, title=doc.title, node_id=version.node_id, mime_type=doc.mime_type,
                            content=version.content) for doc, version in rows]


async def _output(run_id: uuid.UUID, session: AsyncSession) -> str:
    documents = await _documents(run_id, session)
    if documents:
        return "\n\n".join(doc.content for doc in documents)
    last = (await session.exec(select(Step).where(col(Step.run_id) == run_id, col(Step.status) == StepStatus.SUCCEEDED)
                               .order_by(col(Step.finished_at).desc(), col(Step.id).desc()))).first()
    return str((last.output or {}).get("content", "")) if last is not None else ""


def diff_lines(before: str, after: str, *, limit: int = MAX_DIFF_LINES) -> tuple[list[DiffLine], bool]:
    """Line diff of two texts (``ndiff`` without its hint lines); True when cut at ``limit`` lines."""
    lines = [DiffLine(kind=_PREFIX_KINDS[line[:2]], text=line[2:])
             for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in _PREFIX_KINDS]
    return lines[:limit], len(lines) > limit


async def report(actor: User, run_id: uuid.UUID, *, session: AsyncSession) -> RunReport:
    """The run (checked like ``runs.get_run``), its documents and its output against the previous successful run."""
    detail = await runs.get_run(actor, run_id, session=session)
    documents = await _documents(run_id, session)
    output = "\n\n".join(doc.content for doc in documents) if documents else await _output(run_id, session)
    previous = (await session.exec(select(Run.id).where(
        col(Run.workflow_id) == detail.workflow_id, col(Run.created_at) < detail.created_at,
        col(Run.status) == RunStatus.SUCCEEDED).order_by(col(Run.created_at).desc()))).first()
    if previous is None:
        return RunReport(run=detail, documents=documents, output=output, previous_run_id=None, diff=[])
    lines, truncated = diff_lines(await _output(previous, session), output)
    return RunReport(run=detail, documents=documents, output=output, previous_run_id=previous, diff=lines,
                     diff_truncated=truncated)
