"""document search: full-text indexes over documents(title, content)

SQLite: an external-content FTS5 table ``documents_fts`` (porter-stemmed unicode61 tokens) whose
rowids are the documents' rowids, kept in step by three triggers. PostgreSQL: a stored generated
``search_vector`` column (English configuration, title weighted A, content B) with a GIN index.
``services/ai/search.py`` queries both.

A later SQLite migration that rebuilds ``documents`` (a batch "move and copy") drops these
triggers with the old table and may renumber rowids: it must re-create the triggers and run
``INSERT INTO documents_fts(documents_fts) VALUES('rebuild')``, as this upgrade does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE documents_fts USING fts5("
    "title, content, content='documents', content_rowid='rowid', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN "
    "INSERT INTO documents_fts(rowid, title, content) VALUES (new.rowid, new.title, new.content); END",
    "CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, content) "
    "VALUES ('delete', old.rowid, old.title, old.content); END",
    "CREATE TRIGGER documents_fts_update AFTER UPDATE OF title, content ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, content) "
    "VALUES ('delete', old.rowid, old.title, old.content); "
    "INSERT INTO documents_fts(rowid, title, content) VALUES (new.rowid, new.title, new.content); END",
    "INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')",
)
_SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS documents_fts_update",
    "DROP TRIGGER IF EXISTS documents_fts_delete",
    "DROP TRIGGER IF EXISTS documents_fts_insert",
    "DROP TABLE IF EXISTS documents_fts",
)
# Stored, so ranking reads the vector instead of re-parsing every matching document.
_POSTGRES_UPGRADE = (
    "ALTER TABLE documents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(content, '')), 'B')) STORED",
    "CREATE INDEX ix_documents_search_vector ON documents USING gin (search_vector)",
)
_POSTGRES_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_documents_search_vector",
    "ALTER TABLE documents DROP COLUMN IF EXISTS search_vector",
)


def upgrade() -> None:
    for statement in _statements(sqlite=_SQLITE_UPGRADE, postgresql=_POSTGRES_UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(sqlite=_SQLITE_DOWNGRADE, postgresql=_POSTGRES_DOWNGRADE):
        op.execute(statement)


def _statements(*, sqlite: tuple[str, ...], postgresql: tuple[str, ...]) -> tuple[str, ...]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite
    if dialect == "postgresql":
        return postgresql
    raise NotImplementedError(f"document search has no index for the {dialect} dialect")
