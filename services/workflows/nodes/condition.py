"""Branch on a safe expression: downstream nodes on the handle not taken are skipped."""

from __future__ import annotations

from pydantic import Field

from services import errors
from services.workflows import expressions
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class ConditionConfig(NodeConfig):
    expression: str = Field(min_length=1, max_length=2000,
                            description="e.g. analyze.sentiment.score > 0.2 and len(draft.content) < 5000")


class ConditionNode(NodeType[ConditionConfig]):
    type_name = "condition"
    display_name = "Condition"
    description = "Sends the flow down its true or false handle, by a small safe expression over earlier outputs."
    category = "Logic"
    icon = "git-branch"
    config_model = ConditionConfig
    replayable = True
    output_handles = ("true", "false")
    expression_fields = ("expression",)

    async def run(self, config: ConditionConfig, ctx: NodeContext) -> NodeOutput:
        try:
            value = expressions.evaluate(config.expression, ctx.variables())
        except expressions.ExpressionError as exc:
            raise errors.ExecutionFailed(f"the condition could not be evaluated: {exc.message}") from exc
        taken = expressions.truthy(value)
        ctx.log.add(f"{config.expression} gave {str(value)[:80]!r}: took the {'true' if taken else 'false'} branch")
        return NodeOutput(content=ctx.joined_inputs(), branch="true" if taken else "false",
                          fields={"result": taken}, metadata={"expression": config.expression})
