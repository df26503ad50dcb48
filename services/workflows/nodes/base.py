"""What every node type is: a typed config, a run method, and what the builder needs to draw it.

A node's result is a *document*: ``content`` plus ``metadata`` plus named ``fields``, which
downstream templates read as ``{{ node_id.content }}`` or ``{{ node_id.some_field }}``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.ai.usage import CallContext
from services.workflows import templating


class NodeConfig(BaseModel):
    """Settings every node has: its time limit and how it is retried."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float | None = Field(default=None, gt=0, le=24 * 3600,
                                          description="Stop the node after this many seconds (default from settings).")
    retries: int = Field(default=0, ge=0, le=10, description="Extra attempts after a retryable failure.")
    retry_backoff_seconds: float = Field(default=1.0, ge=0, le=600,
                                         description="First retry delay; doubles each attempt, with jitter.")


ConfigT = TypeVar("ConfigT", bound=NodeConfig)


@dataclass
class NodeOutput:
    """What a node produced. ``branch`` names the output handle taken (condition nodes)."""

    content: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    tokens: int = 0
    cost: float = 0.0
    branch: str | None = None
    waiting: bool = False
    document_title: str | None = None  # set by nodes whose output is saved as a Document

    def document(self) -> dict[str, Any]:
        """The JSON document downstream nodes see and the step row stores."""
        doc: dict[str, Any] = {**self.fields, "content": self.content, "metadata": self.metadata}
        if self.branch is not None:
            doc["branch"] = self.branch
        return doc


MAX_LOG_LINES = 100
MAX_LOG_CHARS = 500


@dataclass
class StepLog:
    """A step's log, kept across its attempts: the engine's attempts and retries, and notes the node adds.

    Each line is ``{"at_ms", "level", "message"}`` (``at_ms`` after the step started); a node that
    writes more than ``MAX_LOG_LINES`` lines keeps its first ones.
    """

    lines: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def add(self, message: str, level: str = "info") -> None:
        if len(self.lines) < MAX_LOG_LINES:
            self.lines.append({"at_ms": round((time.perf_counter() - self.started) * 1000, 1), "level": level,
                               "message": message[:MAX_LOG_CHARS]})


@dataclass
class NodeContext:
    """What a node may read while running: upstream documents, run parameters, its attempt."""

    run_id: str
    workflow_id: int
    node_id: str
    attempt: int
    parameters: Mapping[str, Any]
    upstream: Mapping[str, dict[str, Any]]
    direct_inputs: tuple[str, ...] = ()
    decision: Mapping[str, Any] | None = None  # human approval: the decision that resumed the run
    extra_variables: Mapping[str, Any] = field(default_factory=dict)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    owner_id: uuid.UUID | None = None  # the workflow's owner: whose library document nodes may read
    log: StepLog = field(default_factory=StepLog)  # ``ctx.log.add("...")``: shown with the step after the run

    def variables(self) -> dict[str, Any]:
        """The names templates and expressions see."""
        return {**self.upstream, "params": dict(self.parameters),
                "run": {"id": self.run_id, "workflow_id": self.workflow_id}, **self.extra_variables}

    def render(self, template: str) -> str:
        return templating.render(template, self.variables())

    def ai_context(self) -> CallContext:
        """Who AI calls made by this node are for: its run (for run budgets and usage rows) and node."""
        try:
            run_id: uuid.UUID | None = uuid.UUID(self.run_id)
        except ValueError:
            run_id = None
        return CallContext(run_id=run_id, node_id=self.node_id)

    def joined_inputs(self) -> str:
        """The content of the nodes wired directly into this one, in edge order."""
        parts = [str(self.upstream[node_id].get("content", "")) for node_id in self.direct_inputs
                 if node_id in self.upstream]
        return "\n\n".join(part for part in parts if part)


class NodeType(ABC, Generic[ConfigT]):
    """A kind of node. Subclasses declare their catalogue entry and implement ``run``."""

    type_name: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str]
    category: ClassVar[str]
    icon: ClassVar[str] = "box"
    config_model: ClassVar[type[NodeConfig]]
    output_handles: ClassVar[tuple[str, ...]] = ("out",)
    accepts_input: ClassVar[bool] = True
    template_fields: ClassVar[tuple[str, ...]] = ()  # config fields holding Jinja templates
    expression_fields: ClassVar[tuple[str, ...]] = ()  # config fields holding condition expressions
    # Quick, and with no effect beyond its step (and the documents written with it): running it again gives
    # the same result, so the engine commits its step with the run's next write (see engine.py).
    replayable: ClassVar[bool] = False

    def parse_config(self, raw: Mapping[str, Any]) -> ConfigT:
        return self.config_model.model_validate(raw)  # type: ignore[return-value]

    @abstractmethod
    async def run(self, config: ConfigT, ctx: NodeContext) -> NodeOutput:
        """Do the node's work. Raise ``errors.ExecutionFailed`` (with ``retryable``) on failure."""

    def catalogue_entry(self) -> dict[str, Any]:
        """What ``GET /workflows/node-types`` shows for this type."""
        return {"type": self.type_name, "display_name": self.display_name, "description": self.description,
                "category": self.category, "icon": self.icon, "output_handles": list(self.output_handles),
                "accepts_input": self.accepts_input, "template_fields": list(self.template_fields),
                "expression_fields": list(self.expression_fields),
                "config_schema": self.config_model.model_json_schema()}
