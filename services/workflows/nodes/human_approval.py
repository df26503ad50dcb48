"""Pause the run until a person approves or rejects it."""

from __future__ import annotations

from pydantic import Field

from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class ApprovalConfig(NodeConfig):
    instructions: str = Field(default="Please review and approve.", max_length=5000,
                              description="What the reviewer should check (template).")


class HumanApprovalNode(NodeType[ApprovalConfig]):
    """Returns a waiting result; approving the run completes the step with the decision."""

    type_name = "human_approval"
    display_name = "Human approval"
    description = "Pauses the run (status waiting) until someone approves or rejects it in the UI or API."
    category = "Logic"
    icon = "user-check"
    config_model = ApprovalConfig
    template_fields = ("instructions",)

    async def run(self, config: ApprovalConfig, ctx: NodeContext) -> NodeOutput:
        return NodeOutput(content=ctx.joined_inputs(), waiting=True,
                          fields={"instructions": ctx.render(config.instructions), "decision": "pending"})
