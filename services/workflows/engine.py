"""The engine: walks a claimed run's graph in dependency order and persists every step.

Independent branches run concurrently (bounded per run). Each node gets a timeout and retries
with exponential backoff and jitter when its failure is retryable. A finished step is committed
before (or with) any step that depends on it, so a run resumed by another worker (after this one
died) continues after its last committed step and never runs a committed succeeded step again.

The steps of replayable nodes (quick, and with no effect beyond their step: input, template,
output...) are committed with the run's next write rather than each on its own: with the next
step, with the run's end, or as soon as a node that is not replayable is running. A worker dying
before that write leaves no trace of them, and the next worker simply runs them again. A run of
such nodes only is one claim and one transaction.

Status machine of a run: queued → running → succeeded | failed | cancelled, or running → waiting
(a human approval is pending) → queued again once decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from models.base import utcnow
from models.run import RunStatus, StepStatus
from services import errors
from services.observability.context import bound_run
from services.settings import get_settings
from services.workflows.events import RunEventBus
from services.workflows.graph import Graph, NodeSpec
from services.workflows.nodes.base import NodeContext, NodeOutput, StepLog
from services.workflows.nodes.registry import get_node_type
from services.workflows.run_store import ClaimedRun, RunStore, StepRecord

log = logging.getLogger(__name__)
RunFinishedHook = Callable[[uuid.UUID, int, RunStatus], Awaitable[None]]
_SETTLED = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
_PREVIEW_CHARS = 2000
_SKIPPED_LINE = {"at_ms": 0.0, "level": "info", "message": "skipped: no incoming branch carried a result"}
_PARSED_GRAPHS_KEPT = 256
# (workflow id, version) -> (the graph's JSON as claimed, the graph parsed from it). A version never changes,
# but the JSON is compared all the same (cheaper than parsing it), so a reused id (a test database emptied
# and filled again) is never served another graph.
_parsed_graphs: dict[tuple[int, int], tuple[dict[str, Any], Graph]] = {}


@dataclass
class EngineOptions:
    worker_id: str
    lease_seconds: float
    max_parallel: int
    default_timeout: float
    on_finished: list[RunFinishedHook] = field(default_factory=list)
    # Called after on_finished, only when a run-finished trigger of the run's workflow listens for the status
    # (recording the end finds that out, so the runs nobody listens for cost nothing more).
    on_finished_if_listened: list[RunFinishedHook] = field(default_factory=list)

    @classmethod
    def from_settings(cls, worker_id: str) -> EngineOptions:
        settings = get_settings()
        return cls(worker_id=worker_id, lease_seconds=settings.run_lease_seconds,
                   max_parallel=settings.workflow_max_parallel_nodes,
                   default_timeout=settings.workflow_node_timeout_seconds)


async def execute_run(run_id: uuid.UUID, *, store: RunStore, bus: RunEventBus,
                      options: EngineOptions) -> RunStatus | None:
    """Claim and run ``run_id`` to its end (or pause). None when another worker holds it or it is over."""
    with bound_run(str(run_id)):
        return await _claim_and_execute(run_id, store=store, bus=bus, options=options)


async def _claim_and_execute(run_id: uuid.UUID, *, store: RunStore, bus: RunEventBus,
                             options: EngineOptions) -> RunStatus | None:
    claimed = await store.claim(run_id, options.worker_id, options.lease_seconds)
    if claimed is None:
        return None
    execution = _RunExecution(claimed, store, bus, options)
    status = await execution.execute()
    if status is not None and status.finished:
        for hook in [*options.on_finished, *(options.on_finished_if_listened if execution.listened else ())]:
            try:
                await hook(run_id, claimed.workflow_id, status)
            except Exception:  # a trigger failing must not undo the run that finished
                log.exception("run-finished hook failed for run %s", run_id)
    return status


def _parsed_graph(claimed: ClaimedRun) -> Graph:
    """The claimed version's graph, parsed once per process (it is only read)."""
    key = (claimed.workflow_id, claimed.version)
    kept = _parsed_graphs.get(key)
    if kept is not None and kept[0] == claimed.graph:
        return kept[1]
    graph = Graph.model_validate(claimed.graph)
    if len(_parsed_graphs) >= _PARSED_GRAPHS_KEPT:
        del _parsed_graphs[next(iter(_parsed_graphs))]  # the oldest entry
    _parsed_graphs[key] = (claimed.graph, graph)
    return graph


class _RunExecution:
    def __init__(self, claimed: ClaimedRun, store: RunStore, bus: RunEventBus, options: EngineOptions) -> None:
        self.run = claimed
        self.store = store
        self.bus = bus
        self.options = options
        self.graph = _parsed_graph(claimed)
        self.status: dict[str, StepStatus] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, tuple[str, ...]] = {
            node.id: tuple(dict.fromkeys(edge.source for edge in self.graph.incoming[node.id]))
            for node in self.graph.nodes}
        self.failure: StepRecord | None = None
        self.cancel_requested = claimed.cancel_requested
        self.lease_lost = False
        self.running: dict[asyncio.Task[StepRecord], str] = {}
        self.unsaved: list[StepRecord] = []  # replayable steps that finished, for the run's next write
        self.listened = False

    async def execute(self) -> RunStatus | None:
        run_id = str(self.run.id)
        self.bus.publish({"type": "run", "run_id": run_id, "status": RunStatus.RUNNING.value})
        if self.cancel_requested:
            return await self._finish(RunStatus.CANCELLED, "cancelled on request")
        for node_id, step in self.run.steps.items():
            if step.status in (*_SETTLED, StepStatus.WAITING) and node_id in self.graph.nodes_by_id:
                self.status[node_id] = step.status
                if step.status is StepStatus.SUCCEEDED and step.output is not None:
                    self.outputs[node_id] = step.output
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        try:
            await self._walk()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if self.lease_lost:
            return None
        if self.cancel_requested:
            return await self._finish(RunStatus.CANCELLED, "cancelled on request")
        if self.failure is not None:
            return await self._finish(RunStatus.FAILED, f"node {self.failure.node_id!r} failed: {self.failure.error}")
        if any(status is StepStatus.WAITING for status in self.status.values()):
            return await self._finish(RunStatus.WAITING, None)
        return await self._finish(RunStatus.SUCCEEDED, None)

    async def _walk(self) -> None:
        remaining = {node_id: sum(1 for source in sources if self.status.get(source) not in _SETTLED)
                     for node_id, sources in self.sources.items()}
        ready = deque(node_id for node_id in remaining if remaining[node_id] == 0 and node_id not in self.status)
        skipped: list[StepRecord] = []

        def settle(node_id: str) -> None:
            for target in dict.fromkeys(edge.target for edge in self.graph.outgoing[node_id]):
                remaining[target] -= 1
                if remaining[target] == 0 and target not in self.status:
                    ready.append(target)

        while True:
            while ready and self._may_start():
                node_id = ready.popleft()
                if not self._is_active(node_id):
                    self.status[node_id] = StepStatus.SKIPPED
                    now = utcnow()
                    skipped.append(StepRecord(node_id=node_id, node_type=self.graph.nodes_by_id[node_id].type,
                                              status=StepStatus.SKIPPED, started_at=now, finished_at=now,
                                              logs=[_SKIPPED_LINE]))
                    settle(node_id)
                    continue
                if len(self.running) >= self.options.max_parallel:
                    ready.appendleft(node_id)
                    break
                task = asyncio.get_running_loop().create_task(self._run_node(self.graph.nodes_by_id[node_id]))
                self.running[task] = node_id
            if skipped:
                await self._save(skipped)
                skipped = []
                continue
            if not self.running:
                return
            if self.unsaved and not all(self._replayable(node_id) for node_id in self.running.values()):
                await self._save([])  # a node that takes its time is running: show what finished before it
            done, _ = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                node_id = self.running.pop(task)
                if task.cancelled():
                    continue
                record = task.result()
                self.status[node_id] = record.status
                if record.status is StepStatus.SUCCEEDED:
                    self.outputs[node_id] = record.output or {}
                    settle(node_id)
                elif record.status is StepStatus.FAILED and self.failure is None:
                    self.failure = record
                    self._cancel_running()

    def _may_start(self) -> bool:
        return self.failure is None and not self.cancel_requested and not self.lease_lost

    def _replayable(self, node_id: str) -> bool:
        return get_node_type(self.graph.nodes_by_id[node_id].type).replayable

    def _is_active(self, node_id: str) -> bool:
        """A node runs when it has no inputs or at least one incoming edge carries a result."""
        incoming = self.graph.incoming[node_id]
        if not incoming:
            return True
        for edge in incoming:
            if self.status.get(edge.source) is not StepStatus.SUCCEEDED:
                continue
            if edge.source_handle is None or self.outputs[edge.source].get("branch") == edge.source_handle:
                return True
        return False

    async def _run_node(self, node: NodeSpec) -> StepRecord:
        node_type = get_node_type(node.type)
        config = node_type.parse_config(node.config)
        started_at = utcnow()
        clock = time.perf_counter()
        self.bus.publish({"type": "step", "run_id": str(self.run.id), "node_id": node.id,
                          "status": StepStatus.RUNNING.value})
        attempt = 1
        timeout = config.timeout_seconds or self.options.default_timeout
        step_log = StepLog()
        while True:
            ctx = NodeContext(run_id=str(self.run.id), workflow_id=self.run.workflow_id, node_id=node.id,
                              attempt=attempt, parameters=self.run.parameters, upstream=self.outputs,
                              direct_inputs=self.sources[node.id], owner_id=self.run.owner_id, log=step_log)
            output: NodeOutput | None = None
            step_log.add(f"attempt {attempt} started")
            try:
                async with asyncio.timeout(timeout):
                    output = await node_type.run(config, ctx)
                break
            except TimeoutError:
                error, retryable, retry_after = f"timed out after {timeout:g} s", True, None
            except errors.ExecutionFailed as exc:
                error, retryable, retry_after = exc.message, exc.retryable, exc.retry_after
            except errors.DomainError as exc:
                retryable = isinstance(exc, errors.ServiceUnavailable) and getattr(exc, "retryable", True)
                error, retry_after = exc.message, getattr(exc, "retry_after", None)
            except Exception as exc:  # a node's bug fails its step, not the engine
                log.exception("node %s (%s) of run %s raised", node.id, node.type, self.run.id)
                error, retryable, retry_after = f"{type(exc).__name__}: {exc}", False, None
            step_log.add(f"attempt {attempt} failed: {error}", "error")
            if not retryable or attempt > config.retries:
                step_log.add("not retried: this failure is not retryable" if not retryable else
                             f"no retries left ({config.retries} allowed)", "error")
                break
            delay = retry_after if retry_after is not None else (
                config.retry_backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))  # noqa: S311
            step_log.add(f"retrying in {delay:.2f} s" + (" (as the failure asked)" if retry_after is not None else ""),
                         "warning")
            self.bus.publish({"type": "step", "run_id": str(self.run.id), "node_id": node.id, "status": "retrying",
                              "attempt": attempt, "error": error, "retry_in_s": round(delay, 3)})
            await asyncio.sleep(delay)
            attempt += 1
        finished_at = utcnow()
        record = StepRecord(node_id=node.id, node_type=node.type, attempt=attempt, started_at=started_at,
                            finished_at=finished_at, duration_ms=(time.perf_counter() - clock) * 1000,
                            input={"from": list(self.sources[node.id])}, status=StepStatus.FAILED,
                            logs=step_log.lines)
        if output is None:
            record.error = error
        else:
            step_log.add("waiting for a person's decision" if output.waiting else
                         f"attempt {attempt} succeeded in {(time.perf_counter() - clock) * 1000:.0f} ms")
            record.status = StepStatus.WAITING if output.waiting else StepStatus.SUCCEEDED
            record.output = output.document()
            record.tokens, record.cost, record.document_title = output.tokens, output.cost, output.document_title
        if record.status is StepStatus.SUCCEEDED and node_type.replayable:
            self.unsaved.append(record)
        else:
            await self._save([record])
        return record

    async def _save(self, records: list[StepRecord]) -> None:
        """Commit ``records`` with the replayable steps still unsaved (which they may depend on), then
        publish them all."""
        records, self.unsaved = [*self.unsaved, *records], []
        if not records:
            return
        await self.store.save_steps(self.run.id, self.run.workflow_id, self.run.owner_id, records)
        for record in records:
            self._publish_step(record)

    def _publish_step(self, record: StepRecord) -> None:
        content = str((record.output or {}).get("content", ""))
        self.bus.publish({"type": "step", "run_id": str(self.run.id), "node_id": record.node_id,
                          "status": record.status.value, "attempt": record.attempt, "error": record.error,
                          "duration_ms": record.duration_ms, "preview": content[:_PREVIEW_CHARS]})

    def _cancel_running(self) -> None:
        for task in self.running:
            task.cancel()

    async def _heartbeat(self) -> None:
        interval = max(self.options.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                ours, cancel = await self.store.heartbeat(self.run.id, self.options.worker_id,
                                                          self.options.lease_seconds)
            except Exception:  # a database blip: keep working, the next beat retries
                log.warning("heartbeat for run %s failed", self.run.id, exc_info=True)
                continue
            if not ours:
                self.lease_lost = True
                self._cancel_running()
                return
            if cancel and not self.cancel_requested:
                self.cancel_requested = True
                await self._record_cancelled_steps()
                self._cancel_running()

    async def _record_cancelled_steps(self) -> None:
        now = utcnow()
        records = [StepRecord(node_id=node_id, node_type=self.graph.nodes_by_id[node_id].type,
                              status=StepStatus.CANCELLED, finished_at=now, error="cancelled on request",
                              logs=[{"at_ms": 0.0, "level": "warning", "message": "cancelled on request"}])
                   for node_id in self.running.values()]
        await self._save(records)

    async def _finish(self, status: RunStatus, error: str | None) -> RunStatus | None:
        """Record the end with the steps still unsaved; None when the run was no longer this worker's."""
        records, self.unsaved = self.unsaved, []
        recorded = await self.store.finish(self.run.id, self.options.worker_id, status, error=error,
                                           started_at=self.run.started_at, workflow_id=self.run.workflow_id,
                                           owner_id=self.run.owner_id, records=records)
        for record in records:
            self._publish_step(record)
        if not recorded.ours:
            return None
        self.listened = recorded.listened
        self.bus.publish({"type": "run", "run_id": str(self.run.id), "status": status.value, "error": error})
        return status
