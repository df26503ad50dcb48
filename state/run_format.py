"""How runs and steps read on screen, shared by the builder's run panel and the run viewer."""

from __future__ import annotations

import json
from typing import Any

from models.run import RunStatus, StepLogLine, StepPublic

ACTIVE = frozenset({RunStatus.QUEUED.value, RunStatus.RUNNING.value})
RETRYABLE = frozenset({RunStatus.FAILED.value, RunStatus.CANCELLED.value})
CANCELLABLE = frozenset({RunStatus.QUEUED.value, RunStatus.RUNNING.value, RunStatus.WAITING.value})
FINISHED = frozenset(s.value for s in RunStatus if s.finished)


def duration_text(duration_ms: float | None) -> str:
    """A run's or step's duration as people read one: "<1 ms", "340 ms", "1.5 s", "2 min 05 s"."""
    if duration_ms is None:
        return ""
    if duration_ms < 0.5:
        return "<1 ms"
    if duration_ms < 999.5:
        return f"{duration_ms:.0f} ms"
    if duration_ms < 59_950:
        return f"{duration_ms / 1000:.1f} s"
    minutes, seconds = divmod(round(duration_ms / 1000), 60)
    return f"{minutes} min {seconds:02d} s"


def step_view(step: StepPublic) -> dict[str, str]:
    """One step as the pages show it (strings only, so the page can index it by node id)."""
    output = step.output or {}
    return {"node_id": step.node_id, "node_type": step.node_type, "status": step.status.value,
            "content": str(output.get("content", "")), "tokens": str(step.tokens),
            "cost": f"${step.cost:.4f}", "attempts": str(step.attempt), "error": step.error or "",
            "duration": duration_text(step.duration_ms), "input": _pretty(step.input),
            "started": step.started_at.strftime("%H:%M:%S") if step.started_at else "",
            "logs": log_text(step.logs)}


def log_text(lines: list[StepLogLine]) -> str:
    """A step's log as text, one line each: seconds after the step started, a level mark, the message."""
    marks = {"warning": "WARN  ", "error": "ERROR "}
    return "\n".join(f"+{line.at_ms / 1000:.2f} s  {marks.get(line.level, '')}{line.message}" for line in lines)


def _pretty(data: dict[str, Any]) -> str:
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    return text if len(text) <= 20_000 else text[:20_000] + "\n… (cut at 20,000 characters)"


BADGE_ERROR_CHARS = 32


def badge(status: str, duration_ms: float | None, error: str | None = None) -> dict[str, str]:
    """A node's run badge on the canvas: a succeeded step shows how long it took, a failed one its error
    (cut short on the badge, whole in its tooltip); a retrying one names the failure in its tooltip."""
    if status == "failed" and error:
        short = error if len(error) <= BADGE_ERROR_CHARS else error[:BADGE_ERROR_CHARS - 1].rstrip() + "…"
        return {"status": status, "text": short, "title": error}
    if status == "retrying" and error:
        return {"status": status, "text": "", "title": f"retrying after: {error}"}
    return {"status": status, "text": duration_text(duration_ms) if status == "succeeded" else ""}


def started_nodes(graph: dict[str, Any], settled: dict[str, str]) -> list[str]:
    """Nodes of a running run with no step row yet whose inputs have all succeeded or been skipped: the
    engine starts such a node at once, so it is running (the database records a step only once it ends,
    and a page that subscribed to the run's events late missed the ``running`` event)."""
    sources: dict[str, set[str]] = {node["id"]: set() for node in graph.get("nodes", [])}
    for edge in graph.get("edges", []):
        sources.setdefault(edge["target"], set()).add(edge["source"])
    return [node_id for node_id, inputs in sources.items() if node_id not in settled
            and all(settled.get(source) in ("succeeded", "skipped") for source in inputs)]
