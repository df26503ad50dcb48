"""The full-text search objects migration 0004 creates outside the models, for schema comparisons to skip.

SQLAlchemy cannot describe an FTS5 virtual table (SQLite) or a generated ``tsvector`` column
(PostgreSQL) on ``documents`` portably, so they live only in the migration; Alembic's
autogenerate and the schema test must not report them as extra.
"""

from __future__ import annotations

from collections.abc import Mapping

SEARCH_TABLE_PREFIX = "documents_fts"  # the FTS5 table and its shadow tables (_data, _idx, _docsize, _config)
SEARCH_COLUMN = ("documents", "search_vector")
SEARCH_INDEX = "ix_documents_search_vector"


def is_schema_object(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic ``include_name`` hook: False for the search index objects, True for everything else."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE_PREFIX)
    if type_ == "column":
        return (parent_names.get("table_name"), name) != SEARCH_COLUMN
    if type_ == "index":
        return name != SEARCH_INDEX
    return True
