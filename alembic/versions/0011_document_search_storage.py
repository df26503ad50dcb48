"""document search on PostgreSQL: search vectors kept in the row, a GIN index without a pending list

Measured with bench/documents.py (10,000 documents of ~300 words): each ~2.7 KB ``search_vector``
was stored out of line (TOAST), so ranking the matches, or a sequential scan the planner chose for a
frequent word, fetched every vector through the TOAST index; and the GIN index's pending list
(``fastupdate``) was scanned by every search until a vacuum merged it, which also made the planner
prefer the sequential scan. ``STORAGE MAIN`` keeps the vector in the row (rows written from now on;
an old row moves when it is next updated); ``fastupdate = off`` puts each new document's words into
the index at once (an upload pays a few milliseconds). SQLite's FTS5 index is unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE documents ALTER COLUMN search_vector SET STORAGE MAIN")
        op.execute("ALTER INDEX ix_documents_search_vector SET (fastupdate = off)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_documents_search_vector RESET (fastupdate)")
        op.execute("ALTER TABLE documents ALTER COLUMN search_vector SET STORAGE EXTENDED")
