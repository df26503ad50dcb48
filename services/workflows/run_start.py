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

from sqlalchemy import CTE, ColumnElement, Executable, Select, bindparam, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from models.base import utcnow
from models.run import RunStatus, Trigger
from models.tables import RUNS, VERSIONS
from services import errors
from services.auth.audit import AUDIT_LOG, audit_values
from services.documents.workflow_inputs import BATCH_DOCUMENT_PARAMETER
from services.workflows.graph import Graph

_REMEMBERED_VERSIONS = 1024

# Every column written, as typed parameters (a statement with DML in CTEs gets no column defaults).
_RUN_ROW: dict[str, ColumnElement[Any]] = {
    **{name: bindparam(f"run_{name}", type_=RUNS.c[name].type)
       for name in ("id", "workflow_id", "version", "status", "trigger", "parameters", "created_by", "created_at")},
    "total_tokens": literal(0, RUNS.c.total_tokens.type), "total_cost": literal(0.0, RUNS.c.total_cost.type),
    "claims": literal(0, RUNS.c.claims.type), "cancel_requested": literal(False, RUNS.c.cancel_requested.type)}
_AUDIT_ROW: dict[str, ColumnElement[Any]] = {column.name: bindparam(f"audit_{column.name}", type_=column.type)
                                             for column in AUDIT_LOG.columns}
_INSERT_RUN = insert(RUNS).values(_RUN_ROW)
_INSERT_AUDIT = insert(AUDIT_LOG).values(_AUDIT_ROW)
_READ_GRAPH = select(VERSIONS.c.graph).where(VERSIONS.c.id == bindparam("version_id"))
_statements: dict[tuple[CTE | None, Executable | None], Select[tuple[uuid.UUID]]] = {}  # by the callers' parts


def _run_and_audit(when: CTE | None, also: Executable | None) -> Select[tuple[uuid.UUID]]:
    """PostgreSQL: ``WITH run AS (INSERT INTO runs ... SELECT ... [FROM when] RETURNING id), audit_entry AS
    (INSERT INTO audit_log ... SELECT ... FROM run)[, also AS (...)] SELECT id FROM run``."""
    key = (when, also)
    statement = _statements.get(key)
    if statement is None:
        source = select(*_RUN_ROW.values())
        run = (insert(RUNS).from_select(list(_RUN_ROW), source if when is None else source.select_from(when))
               .returning(RUNS.c.id).cte("run"))
        audit = insert(AUDIT_LOG).from_select(list(_AUDIT_ROW), select(*_AUDIT_ROW.values()).select_from(run))
        statement = select(run.c.id).add_cte(audit.cte("audit_entry"))
        if also is not None:
            statement = statement.add_cte(also.cte("also"))  # type: ignore[attr-defined]
        _statements[key] = statement
    return statement


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

    def accepts(self, parameters: dict[str, Any]) -> bool:
        """True when ``parameters`` has every required input and names no library document (nothing to read)."""
        return all(name in parameters for name in self.required) and not self.documents_named(parameters)

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


async def insert_queued_run(conn: AsyncConnection, *, workflow_id: int, version: int, trigger: Trigger,
                            parameters: dict[str, Any], actor_id: uuid.UUID | None = None,
                            also: tuple[Executable, dict[str, Any]] | None = None) -> uuid.UUID:
    """Write a queued run and its ``run_started`` audit entry (and ``also``, a statement with its
    parameters) as one statement on PostgreSQL; returns the run's id."""
    params = _params(workflow_id, version, trigger, parameters, actor_id)
    if conn.dialect.name == "postgresql":
        if also is not None:
            params.update(also[1])
        await conn.execute(_run_and_audit(None, also and also[0]), params)
        return params["run_id"]  # type: ignore[no-any-return]
    await conn.execute(_INSERT_RUN, params)
    await conn.execute(_INSERT_AUDIT, params)
    if also is not None:
        await conn.execute(also[0], also[1])
    return params["run_id"]  # type: ignore[no-any-return]


async def insert_queued_run_when(conn: AsyncConnection, when: CTE, when_params: dict[str, Any], *, workflow_id: int,
                                 version: int, trigger: Trigger, parameters: dict[str, Any],
                                 actor_id: uuid.UUID | None = None, also: Executable | None = None) -> uuid.UUID | None:
    """PostgreSQL only: ``insert_queued_run`` in the same statement as the checks ``when`` makes (a CTE
    that must select a row, with its parameters ``when_params``, which ``also`` may use as well);
    None, and nothing written, when it selects none."""
    params = _params(workflow_id, version, trigger, parameters, actor_id)
    params.update(when_params)
    row = (await conn.execute(_run_and_audit(when, also), params)).first()
    return None if row is None else params["run_id"]


def _params(workflow_id: int, version: int, trigger: Trigger, parameters: dict[str, Any],
            actor_id: uuid.UUID | None) -> dict[str, Any]:
    run_id = uuid.uuid4()
    audit = audit_values("run_started", actor_id=actor_id, target=f"run:{run_id}",
                         details={"workflow_id": workflow_id, "version": version, "trigger": trigger.value})
    return {"run_id": run_id, "run_workflow_id": workflow_id, "run_version": version, "run_status": RunStatus.QUEUED,
            "run_trigger": trigger, "run_parameters": parameters, "run_created_by": actor_id,
            "run_created_at": utcnow(), **{f"audit_{name}": value for name, value in audit.items()}}
