"""Fan out one node type over a list, with bounded concurrency, and gather the results."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services import errors
from services.workflows import expressions
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType

MAX_ITEMS = 1000


class MappedNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="The node type run for each item, e.g. ai_analyze.")
    config: dict[str, Any] = Field(default_factory=dict, description="Its config; templates may use item and index.")


class MapConfig(NodeConfig):
    items: str = Field(min_length=1, max_length=2000,
                       description="Expression giving the list, e.g. in.documents or split(in.content)")
    node: MappedNode
    concurrency: int = Field(default=4, ge=1, le=64)
    separator: str = Field(default="\n\n", max_length=100)


class MapNode(NodeType[MapConfig]):
    type_name = "map"
    display_name = "Map"
    description = "Runs a node for each item of a list (in parallel, bounded) and joins the results."
    category = "Logic"
    icon = "layers"
    config_model = MapConfig
    expression_fields = ("items",)

    async def run(self, config: MapConfig, ctx: NodeContext) -> NodeOutput:
        from services.workflows.nodes.registry import get_node_type  # the registry lists this module

        items = _as_list(config.items, ctx)
        inner = get_node_type(config.node.type)
        inner_config = inner.parse_config(config.node.config)
        gate = asyncio.Semaphore(config.concurrency)

        async def one(index: int, item: Any) -> NodeOutput:
            async with gate:
                item_ctx = replace(ctx, extra_variables={**ctx.extra_variables, "item": item, "index": index})
                return await inner.run(inner_config, item_ctx)

        results = await asyncio.gather(*(one(index, item) for index, item in enumerate(items)))
        documents = [result.document() for result in results]
        return NodeOutput(content=config.separator.join(result.content for result in results),
                          fields={"results": documents, "count": len(documents)},
                          tokens=sum(result.tokens for result in results), cost=sum(result.cost for result in results),
                          metadata={"items": len(items), "node_type": inner.type_name})


def _as_list(expression: str, ctx: NodeContext) -> list[Any]:
    try:
        value = expressions.evaluate(expression, ctx.variables())
    except expressions.ExpressionError as exc:
        raise errors.ExecutionFailed(f"the items expression failed: {exc.message}") from exc
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list):
        raise errors.ExecutionFailed(f"the items expression gave {type(value).__name__}, not a list")
    if len(value) > MAX_ITEMS:
        raise errors.ExecutionFailed(f"the list has {len(value)} items; a map node takes at most {MAX_ITEMS}")
    return value
