"""The run's result: saved as a downloadable document."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import Field

from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType

MIME_TYPES = {"markdown": "text/markdown", "text": "text/plain", "html": "text/html", "json": "application/json"}


class OutputConfig(NodeConfig):
    format: Literal["markdown", "text", "html", "json"] = "markdown"
    title: str = Field(default="", max_length=500, description="Document title (template); default: workflow run.")
    source: str = Field(default="", description="What to save (template); default: the connected nodes' content.")
    versioned: bool = Field(default=True, description="Each run adds a version to the document the previous run "
                                                      "wrote (per input document in a batch); off: a new document.")


class OutputNode(NodeType[OutputConfig]):
    type_name = "output"
    display_name = "Output document"
    description = "Saves its input as a document of the run, downloadable as Markdown, text, HTML or JSON."
    category = "Input / output"
    icon = "file-output"
    config_model = OutputConfig
    replayable = True
    output_handles = ()
    template_fields = ("title", "source")

    async def run(self, config: OutputConfig, ctx: NodeContext) -> NodeOutput:
        content = ctx.render(config.source) if config.source else ctx.joined_inputs()
        if config.format == "json":
            try:
                content = json.dumps(json.loads(content), indent=2, ensure_ascii=False)
            except ValueError:
                content = json.dumps({"content": content}, indent=2, ensure_ascii=False)
        title = ctx.render(config.title).strip() if config.title else ""
        metadata = {"format": config.format, "mime_type": MIME_TYPES[config.format]}
        if config.versioned:
            source_document = ctx.parameters.get("document_id")
            metadata["document_key"] = f"{ctx.workflow_id}:{ctx.node_id}" + (
                f":{source_document}" if source_document else "")
        return NodeOutput(content=content, metadata=metadata,
                          document_title=title or f"Run {ctx.run_id[:8]} · {ctx.node_id}")
