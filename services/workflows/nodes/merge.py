"""Join the branches that ran into one document."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class MergeConfig(NodeConfig):
    mode: Literal["concatenate", "first"] = Field(
        default="concatenate", description="concatenate: every input in edge order; first: the first that ran.")
    separator: str = Field(default="\n\n", max_length=100)


class MergeNode(NodeType[MergeConfig]):
    type_name = "merge"
    display_name = "Merge"
    description = "Waits for its inputs (skipped branches excluded) and joins them into one document."
    category = "Logic"
    icon = "merge"
    config_model = MergeConfig
    replayable = True

    async def run(self, config: MergeConfig, ctx: NodeContext) -> NodeOutput:
        ran = [node_id for node_id in ctx.direct_inputs if node_id in ctx.upstream]
        contents = [str(ctx.upstream[node_id].get("content", "")) for node_id in ran]
        content = contents[0] if config.mode == "first" and contents else config.separator.join(contents)
        return NodeOutput(content=content, fields={"inputs": ran}, metadata={"merged": len(ran)})
