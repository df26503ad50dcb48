"""Runs: read with steps, cancel, retry (optionally from a node), approve or reject."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from dashboard.api.deps import CurrentUser, SessionDep
from models.run import DecisionRequest, RetryRequest, RunAccepted, RunDetail, RunPublic
from models.run_report import RunReport
from services.workflows import run_report, runs

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("/{run_id}", response_model=RunDetail)
async def get_run(run_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> RunDetail:
    """The run with its steps and output documents."""
    return await runs.get_run(user, run_id, session=session)


@router.post("/{run_id}/cancel", response_model=RunPublic)
async def cancel_run(run_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> RunPublic:
    return await runs.cancel(user, run_id, session=session)


@router.post("/{run_id}/retry", response_model=RunAccepted, status_code=202)
async def retry_run(run_id: uuid.UUID, user: CurrentUser, session: SessionDep,
                    body: RetryRequest | None = None) -> RunAccepted:
    """A new run reusing earlier outputs; ``from_node`` re-runs that node and everything after it."""
    run = await runs.retry(user, run_id, session=session, from_node=body.from_node if body else None)
    return RunAccepted(run_id=run.id, status=run.status, workflow_id=run.workflow_id, version=run.version)


@router.post("/{run_id}/approve", response_model=RunPublic)
async def approve_run(run_id: uuid.UUID, user: CurrentUser, session: SessionDep,
                      body: DecisionRequest | None = None) -> RunPublic:
    return await runs.decide(user, run_id, approve=True, comment=body.comment if body else "", session=session)


@router.post("/{run_id}/reject", response_model=RunPublic)
async def reject_run(run_id: uuid.UUID, user: CurrentUser, session: SessionDep,
                     body: DecisionRequest | None = None) -> RunPublic:
    return await runs.decide(user, run_id, approve=False, comment=body.comment if body else "", session=session)


@router.get("/{run_id}/report", response_model=RunReport)
async def get_run_report(run_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> RunReport:
    """The run, its output documents in full, and its output diffed against the previous successful run."""
    return await run_report.report(user, run_id, session=session)
