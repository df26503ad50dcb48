"""Documents: what people upload and workflows read and write, with immutable numbered versions.

``content`` always holds the current version's Markdown; ``DocumentVersion`` rows keep every
version (the first one included), so a diff or an export of any version reads one row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.workflow import str_enum_column


class DocumentSource(StrEnum):
    UPLOAD = "upload"
    RUN = "run"
    API = "api"


class DocumentStatus(StrEnum):
    """An upload is ``pending`` until extraction starts; run and API documents are ``ready`` at once."""

    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Document(SQLModel, table=True):
    """A Markdown document; uploads keep their original file by content hash, run outputs their run and node."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_owner_updated", "owner_id", "updated_at"),
        Index("ix_documents_output_key", "output_key", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True, ondelete="SET NULL")
    title: str = Field(max_length=300)
    source: DocumentSource = Field(sa_column=str_enum_column(DocumentSource))
    mime_type: str = Field(default="text/markdown", max_length=100)
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    workflow_id: int | None = Field(default=None, foreign_key="workflows.id", index=True, ondelete="SET NULL")
    run_id: uuid.UUID | None = Field(default=None, foreign_key="runs.id", index=True, ondelete="SET NULL")
    node_id: str | None = Field(default=None, max_length=100)
    current_version: int = 1
    status: DocumentStatus = Field(default=DocumentStatus.READY,
                                   sa_column=str_enum_column(DocumentStatus, index=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    progress: int = Field(default=100)
    original_name: str | None = Field(default=None, max_length=300)
    original_hash: str | None = Field(default=None, max_length=64, index=True)
    size_bytes: int = Field(default=0)
    pages: int | None = None
    words: int = Field(default=0)
    language: str | None = Field(default=None, max_length=16)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    output_key: str | None = Field(default=None, max_length=200)
    processing_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DocumentVersion(SQLModel, table=True):
    """One immutable Markdown version of a document, made by a person or by a run's node."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_document_versions_number"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: uuid.UUID = Field(foreign_key="documents.id", index=True, ondelete="CASCADE")
    number: int
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    author_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    run_id: uuid.UUID | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL")
    node_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DocumentPublic(SQLModel):
    """A document as lists and the API show it (no content)."""

    id: uuid.UUID
    owner_id: uuid.UUID | None
    title: str
    source: DocumentSource
    mime_type: str
    status: DocumentStatus
    error: str | None
    progress: int
    original_name: str | None
    size_bytes: int
    pages: int | None
    words: int
    language: str | None
    tags: list[str]
    current_version: int
    workflow_id: int | None
    run_id: uuid.UUID | None
    node_id: str | None
    created_at: datetime
    updated_at: datetime
    snippet: str | None = None


class DocumentDetail(DocumentPublic):
    content: str


class DocumentsPublic(SQLModel):
    data: list[DocumentPublic]
    count: int


class DocumentUpdate(SQLModel):
    """Rename, retag, or save edited Markdown as a new version; every field optional."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    tags: list[str] | None = Field(default=None, max_length=20)
    content: str | None = Field(default=None, max_length=5_000_000)


class DocumentVersionPublic(SQLModel):
    number: int
    author_id: uuid.UUID | None
    run_id: uuid.UUID | None
    node_id: str | None
    created_at: datetime
    words: int = 0


class DocumentDiff(SQLModel):
    """Two versions side by side: ``rows`` pair the left and right lines, each marked equal/changed/added/removed."""

    document_id: uuid.UUID
    from_version: int
    to_version: int
    added: int
    removed: int
    rows: list[dict[str, Any]]
    unified: str


class BatchRunRequest(SQLModel):
    workflow_id: int
    document_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class BatchRunItem(SQLModel):
    document_id: uuid.UUID
    run_id: uuid.UUID | None
    status: str
    error: str | None = None
    output_document_ids: list[uuid.UUID] = Field(default_factory=list)


class BatchRunPublic(SQLModel):
    """One workflow over many documents: a run per document, each with its own status."""

    batch_id: uuid.UUID
    workflow_id: int
    items: list[BatchRunItem]
    done: int
    total: int
