"""The tables behind the models, one typed name each, for Core statements on hot paths.

SQLModel declares ``__table__`` only at runtime, so each module that wrote Core statements named
the tables it used itself; they are named here once.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

from models.document import Document, DocumentVersion
from models.run import Run, Step
from models.trigger import RunFinishedTrigger, WebhookTrigger
from models.workflow import Workflow, WorkflowVersion


def table_of(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


RUNS = table_of(Run)
STEPS = table_of(Step)
WORKFLOWS = table_of(Workflow)
VERSIONS = table_of(WorkflowVersion)
DOCUMENTS = table_of(Document)
DOCUMENT_VERSIONS = table_of(DocumentVersion)
RUN_FINISHED_TRIGGERS = table_of(RunFinishedTrigger)
WEBHOOK_TRIGGERS = table_of(WebhookTrigger)
