"""Wait, then pass the input on."""

from __future__ import annotations

import asyncio

from pydantic import Field

from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class DelayConfig(NodeConfig):
    seconds: float = Field(default=1.0, ge=0, le=3600, description="How long to wait.")


class DelayNode(NodeType[DelayConfig]):
    type_name = "delay"
    display_name = "Delay"
    description = "Waits a number of seconds, then passes its input on unchanged."
    category = "Logic"
    icon = "timer"
    config_model = DelayConfig

    async def run(self, config: DelayConfig, ctx: NodeContext) -> NodeOutput:
        await asyncio.sleep(config.seconds)
        return NodeOutput(content=ctx.joined_inputs(), metadata={"waited_seconds": config.seconds})
