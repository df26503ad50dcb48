"""The run's entry point: declares the parameters a run must be given."""

from __future__ import annotations

from pydantic import Field

from services.workflows.graph import NODE_ID_PATTERN
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class InputConfig(NodeConfig):
    fields: list[str] = Field(default_factory=list, max_length=100,
                              description="Parameters every run must provide, e.g. topic.")
    optional_fields: list[str] = Field(default_factory=list, max_length=100,
                                       description="Parameters a run may provide.")

    def model_post_init(self, _context: object) -> None:
        import re

        for name in [*self.fields, *self.optional_fields]:
            if not re.match(NODE_ID_PATTERN, name):
                raise ValueError(f"field name {name!r} must be letters, digits and _")


class InputNode(NodeType[InputConfig]):
    type_name = "input"
    display_name = "Input"
    description = "Starts the workflow with the run's parameters (and an optional document in `content`)."
    category = "Input / output"
    icon = "log-in"
    config_model = InputConfig
    accepts_input = False

    async def run(self, config: InputConfig, ctx: NodeContext) -> NodeOutput:
        fields = dict(ctx.parameters)
        content = fields.pop("content", None)
        if content is None:
            content = "\n".join(f"{name}: {value}" for name, value in fields.items())
        return NodeOutput(content=str(content), fields=fields, metadata={"parameters": sorted(ctx.parameters)})
