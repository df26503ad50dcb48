"""Run outputs as documents: an output node's document gets a new version at each run.

Called by the step writer inside its transaction (synchronous SQLAlchemy Core), so a step and
the document it produced are committed together. A row with an ``output_key`` (owner, workflow,
node and, for a run over a library document, that document) updates the document the previous
run wrote and adds a version; without one, or the first time, it inserts a document and its
version 1. The insert skips on a conflicting key, so two runs racing for the first version both
end up as versions of one document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from models.document import Document, DocumentVersion

DOCUMENTS: Table = Document.__table__  # type: ignore[attr-defined]
VERSIONS: Table = DocumentVersion.__table__  # type: ignore[attr-defined]


def save_output_documents(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or version each run document in ``rows`` (inside the caller's transaction)."""
    for row in rows:
        key = row.get("output_key")
        if key is None:
            connection.execute(insert(DOCUMENTS), dict(row))
            connection.execute(insert(VERSIONS), _version(row, row["id"], 1))
            continue
        if _insert_unless_keyed(connection, row):
            connection.execute(insert(VERSIONS), _version(row, row["id"], 1))
            continue
        updated = connection.execute(
            update(DOCUMENTS).where(DOCUMENTS.c.output_key == key)
            .values(title=row["title"], content=row["content"], metadata=row["metadata"], mime_type=row["mime_type"],
                    run_id=row["run_id"], workflow_id=row["workflow_id"], words=row.get("words", 0),
                    updated_at=row["updated_at"], current_version=DOCUMENTS.c.current_version + 1)
            .returning(DOCUMENTS.c.id, DOCUMENTS.c.current_version)).one()
        connection.execute(insert(VERSIONS), _version(row, updated[0], int(updated[1])))


def _insert_unless_keyed(connection: Connection, row: Mapping[str, Any]) -> bool:
    """Insert ``row`` unless a document holds its key already; whether it was inserted."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(DOCUMENTS).on_conflict_do_nothing(index_elements=["output_key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(DOCUMENTS).on_conflict_do_nothing(index_elements=["output_key"])
    else:
        exists = connection.execute(select(DOCUMENTS.c.id).where(DOCUMENTS.c.output_key == row["output_key"]))
        if exists.first() is not None:
            return False
        statement = insert(DOCUMENTS)
    # RETURNING says whether the row went in (rowcount is not reliable for ON CONFLICT on every driver).
    return connection.execute(statement.returning(DOCUMENTS.c.id), dict(row)).first() is not None


def _version(row: Mapping[str, Any], document_id: Any, number: int) -> dict[str, Any]:
    return {"document_id": document_id, "number": number, "content": row["content"], "author_id": None,
            "run_id": row["run_id"], "node_id": row["node_id"], "created_at": row["updated_at"]}
