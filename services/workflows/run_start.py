"""Starting a queued run on the hot path (webhook calls): Core statements, no ORM objects, few round trips.

The run row and its audit entry (and any other write the caller adds, such as a webhook's last use)
are one statement on PostgreSQL, committed by itself: the run is in the database, with its audit
entry, before anyone is told it was accepted, and never one without the other. On SQLite they are
separate statements of the caller's transaction (``open_statement_connection``).

What a run of a version requires of its parameters comes from the version's graph, which never
changes once saved, so it is read and worked out once per version and then remembered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from models.base import utcnow
from models.run import Run, RunStatus, Trigger
from models.workflow import WorkflowVersion
from services import errors
from services.auth.audit import AUDIT_LOG, audit_values
from services.documents.workflow_inputs import BATCH_DOCUMENT_PARAMETER
from services.workflows.graph import Graph

RUNS: Table = Run.__table__  # type: ignore[attr-defined]
VERSIONS: Table = WorkflowVersion.__table__  # type: ignore[attr-defined]
_REMEMBERED_VERSIONS = 1024

_INSERT_RUN = insert(RUNS).values(
    id=bindparam("run_id"), workflow_id=bindparam("run_workflow_id"), version=bindparam("run_version"),
    status=bindparam("run_status"), trigger=bindparam("run_trigger"), parameters=bindparam("run_parameters"),
    created_by=bindparam("run_created_by"), created_at=bindparam("run_created_at"),
    # Column defaults are not applied to a statement that carries DML in CTEs: every NOT NULL column is set here.
    total_tokens=0, total_cost=0.0, claims=0, cancel_requested=False)
_INSERT_AUDIT = insert(AUDIT_LOG).values(**{column.name: bindparam(f"audit_{column.name}")
                                            for column in AUDIT_LOG.columns})
# PostgreSQL: the audit entry rides along as a data-modifying CTE of the run's INSERT.
_INSERT_RUN_AND_AUDIT = _INSERT_RUN.add_cte(_INSERT_AUDIT.cte("audit_entry"))
_with_also: dict[Executable, Executable] = {}  # the run's INSERT with a caller's statement (by identity)
_READ_GRAPH = select(VERSIONS.c.graph).where(VERSIONS.c.id == bindparam("version_id"))


@dataclass(frozen=True)
class RunInputs:
    """What a version's input nodes ask of a run's parameters."""

    required: tuple[str, ...]
    documents: tuple[str, ...]

    @classmethod
    def of(cls, graph: Graph) -> RunInputs:
        required: list[str] = []
        documents: list[str] = []
        for node in graph.nodes_of_type("input"):
            required.extend(str(name) for name in node.config.get("fields", []))
            named = [str(name) for name in node.config.get("document_fields", [])]
            required.extend(named)
            documents.extend(named)
        return cls(required=tuple(dict.fromkeys(required)), documents=tuple(dict.fromkeys(documents)))

    def check(self, parameters: dict[str, Any]) -> None:
        """``ValidationFailed`` naming every required parameter missing from ``parameters``."""
        missing = [name for name in self.required if name not in parameters]
        if missing:
            raise errors.ValidationFailed(
                f"The run is missing required input {'fields' if len(missing) > 1 else 'field'}: "
                f"{', '.join(missing)}.",
                details=[{"field": f"parameters.{name}", "message": "required by the input node"} for name in missing])

    def documents_named(self, parameters: dict[str, Any]) -> list[str]:
        """The parameters that name library documents (to check before the run is accepted)."""
        return [name for name in (*self.documents, BATCH_DOCUMENT_PARAMETER) if name in parameters]


# (version id, its created_at): a version row is never updated, and the time tells a row apart from
# one that reused its id after the table was emptied (tests truncate with RESTART IDENTITY).
_inputs_by_version: dict[tuple[int, datetime], RunInputs] = {}


async def inputs_of_version(conn: AsyncConnection, version_id: int, created_at: datetime) -> RunInputs:
    """The version's ``RunInputs``, its graph read only the first time this process meets the version."""
    key = (version_id, created_at)
    inputs = _inputs_by_version.get(key)
    if inputs is None:
        graph = (await conn.execute(_READ_GRAPH, {"version_id": version_id})).scalar_one()
        inputs = RunInputs.of(Graph.model_validate(graph))
        if len(_inputs_by_version) >= _REMEMBERED_VERSIONS:
            del _inputs_by_version[next(iter(_inputs_by_version))]  # the oldest: dicts keep insertion order
        _inputs_by_version[key] = inputs
    return inputs


def _statement_with(also: Executable) -> Executable:
    statement = _with_also[also] = _INSERT_RUN_AND_AUDIT.add_cte(also.cte("also"))  # type: ignore[attr-defined]
    return statement


async def insert_queued_run(conn: AsyncConnection, *, workflow_id: int, version: int, trigger: Trigger,
                            parameters: dict[str, Any], actor_id: uuid.UUID | None = None,
                            also: tuple[Executable, dict[str, Any]] | None = None) -> uuid.UUID:
    """Write a queued run and its ``run_started`` audit entry (and ``also``, a statement with its
    parameters) as one statement on PostgreSQL; returns the run's id."""
    run_id = uuid.uuid4()
    params: dict[str, Any] = {
        "run_id": run_id, "run_workflow_id": workflow_id, "run_version": version, "run_status": RunStatus.QUEUED,
        "run_trigger": trigger, "run_parameters": parameters, "run_created_by": actor_id, "run_created_at": utcnow()}
    audit = audit_values("run_started", actor_id=actor_id, target=f"run:{run_id}",
                         details={"workflow_id": workflow_id, "version": version, "trigger": trigger.value})
    params.update({f"audit_{name}": value for name, value in audit.items()})
    if conn.dialect.name == "postgresql":
        statement: Executable = _INSERT_RUN_AND_AUDIT
        if also is not None:
            found = _with_also.get(also[0])
            statement = _statement_with(also[0]) if found is None else found
            params.update(also[1])
        await conn.execute(statement, params)
        return run_id
    await conn.execute(_INSERT_RUN, params)
    await conn.execute(_INSERT_AUDIT, params)
    if also is not None:
        await conn.execute(also[0], also[1])
    return run_id
