"""documents library: extraction status and metadata, tags, versions; SQLite search keyed by document id

``documents`` gains what an uploaded file needs (status, error, progress, original file by
content hash, size, pages, words, language, tags) and ``output_key``, which names the document
a workflow's output node writes to, so that the next run adds a version instead of a copy.
``document_versions`` holds every version's Markdown; existing documents get their version 1.

SQLite search: 0004's external-content FTS5 table was joined on the implicit ``rowid`` of a
UUID-keyed table, which ``VACUUM`` may renumber. The index now stores its own copy of the text
with the document id as an unindexed column, so nothing depends on rowids.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_DROP_0004 = (
    "DROP TRIGGER IF EXISTS documents_fts_update",
    "DROP TRIGGER IF EXISTS documents_fts_delete",
    "DROP TRIGGER IF EXISTS documents_fts_insert",
    "DROP TABLE IF EXISTS documents_fts",
)
_SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE documents_fts USING fts5("
    "document_id UNINDEXED, title, content, tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN "
    "INSERT INTO documents_fts(document_id, title, content) VALUES (new.id, new.title, new.content); END",
    "CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN "
    "DELETE FROM documents_fts WHERE document_id = old.id; END",
    "CREATE TRIGGER documents_fts_update AFTER UPDATE OF title, content ON documents BEGIN "
    "UPDATE documents_fts SET title = new.title, content = new.content WHERE document_id = old.id; END",
    "INSERT INTO documents_fts(document_id, title, content) SELECT id, title, content FROM documents",
)
_SQLITE_SEARCH_0004 = (
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

_NEW_COLUMNS = ("status", "error", "progress", "original_name", "original_hash", "size_bytes", "pages", "words",
                "language", "tags", "output_key", "processing_started_at")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for statement in _SQLITE_DROP_0004:
            op.execute(statement)
    # Plain ADD COLUMNs (no table rebuild on SQLite): existing rows take the server defaults.
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='ready'))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('progress', sa.Integer(), nullable=False, server_default='100'))
        batch_op.add_column(sa.Column('original_name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('original_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('size_bytes', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pages', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('words', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('output_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('processing_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_documents_status', ['status'], unique=False)
        batch_op.create_index('ix_documents_original_hash', ['original_hash'], unique=False)
        batch_op.create_index('ix_documents_owner_updated', ['owner_id', 'updated_at'], unique=False)
        batch_op.create_index('ix_documents_output_key', ['output_key'], unique=True)

    op.create_table('document_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('node_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id', 'number', name='uq_document_versions_number')
    )
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_versions_document_id'), ['document_id'], unique=False)
    op.execute("INSERT INTO document_versions (document_id, number, content, run_id, node_id, created_at) "
               "SELECT id, current_version, content, run_id, node_id, created_at FROM documents")
    if sqlite:
        for statement in _SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for statement in _SQLITE_DROP_0004:
            op.execute(statement)
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_versions_document_id'))
    op.drop_table('document_versions')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        for index in ('ix_documents_output_key', 'ix_documents_owner_updated', 'ix_documents_original_hash',
                      'ix_documents_status'):
            batch_op.drop_index(index)
        for column in reversed(_NEW_COLUMNS):
            batch_op.drop_column(column)
    if sqlite:
        for statement in _SQLITE_SEARCH_0004:
            op.execute(statement)
