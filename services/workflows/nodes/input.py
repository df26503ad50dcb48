"""The run's entry point: declares the parameters a run must be given."""

from __future__ import annotations

from pydantic import Field

from services.documents.workflow_inputs import BATCH_DOCUMENT_PARAMETER, as_document_id, load_document_for_run
from services.workflows.graph import NODE_ID_PATTERN
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class InputConfig(NodeConfig):
    fields: list[str] = Field(default_factory=list, max_length=100,
                              description="Parameters every run must provide, e.g. topic.")
    optional_fields: list[str] = Field(default_factory=list, max_length=100,
                                       description="Parameters a run may provide.")
    document_fields: list[str] = Field(default_factory=list, max_length=20,
                                       description="Parameters that take a library document (its id); the node "
                                                   "reads each one as {id, title, content, ...}.")

    def model_post_init(self, _context: object) -> None:
        import re

        for name in [*self.fields, *self.optional_fields, *self.document_fields]:
            if not re.match(NODE_ID_PATTERN, name):
                raise ValueError(f"field name {name!r} must be letters, digits and _")


class InputNode(NodeType[InputConfig]):
    type_name = "input"
    display_name = "Input"
    description = ("Starts the workflow with the run's parameters; document fields take library documents "
                   "(an optional text in `content`).")
    category = "Input / output"
    icon = "log-in"
    config_model = InputConfig
    replayable = True
    accepts_input = False

    async def run(self, config: InputConfig, ctx: NodeContext) -> NodeOutput:
        fields = dict(ctx.parameters)
        content = fields.pop("content", None)
        # Access to each document was checked when the run started (services.workflows.runs.start_run).
        documents = {name: await load_document_for_run(as_document_id(fields[name], name), None)
                     for name in config.document_fields if name in fields}
        if BATCH_DOCUMENT_PARAMETER in fields and BATCH_DOCUMENT_PARAMETER not in config.document_fields:
            documents["document"] = await load_document_for_run(
                as_document_id(fields[BATCH_DOCUMENT_PARAMETER], BATCH_DOCUMENT_PARAMETER), None)
        fields.update(documents)
        if content is None and len(documents) == 1:
            content = next(iter(documents.values()))["content"]
        if content is None:
            content = "\n".join(f"{name}: {value}" for name, value in fields.items())
        return NodeOutput(content=str(content), fields=fields, metadata={"parameters": sorted(ctx.parameters)})
