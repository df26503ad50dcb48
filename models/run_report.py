"""What the run viewer shows beyond the run itself: its documents in full and a diff of its output."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlmodel import SQLModel

from models.run import RunDetail


class DocumentContent(SQLModel):
    id: uuid.UUID
    title: str
    node_id: str | None
    mime_type: str
    content: str


class DiffLine(SQLModel):
    kind: Literal["same", "added", "removed"]
    text: str


class RunReport(SQLModel):
    """The run with its steps, its output documents with their text, and the change since the previous run."""

    run: RunDetail
    documents: list[DocumentContent]
    output: str
    previous_run_id: uuid.UUID | None
    diff: list[DiffLine]
    diff_truncated: bool = False
