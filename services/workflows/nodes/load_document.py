"""Reads a document of the library (the workflow owner's) into the run."""

from __future__ import annotations

from pydantic import Field

from services import errors
from services.documents.workflow_inputs import as_document_id, load_document_for_run
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class LoadDocumentConfig(NodeConfig):
    document_id: str = Field(min_length=1, max_length=200,
                             description="The document's id, or a template such as {{ params.report }}.")


class LoadDocumentNode(NodeType[LoadDocumentConfig]):
    type_name = "load_document"
    display_name = "Load document"
    description = "Reads a library document's Markdown; downstream nodes see its content, title and metadata."
    category = "Input / output"
    icon = "file-text"
    config_model = LoadDocumentConfig
    template_fields = ("document_id",)

    async def run(self, config: LoadDocumentConfig, ctx: NodeContext) -> NodeOutput:
        raw = ctx.render(config.document_id).strip()
        try:
            document_id = as_document_id(raw, "document_id")
        except errors.ValidationFailed:
            raise errors.ExecutionFailed(f"{raw[:80]!r} is not a document id.") from None
        document = await load_document_for_run(document_id, ctx.owner_id)
        content = str(document.pop("content"))
        ctx.log.add(f"read document {document['id']} version {document['version']} ({len(content)} characters)")
        return NodeOutput(content=content, fields=document,
                          metadata={"document_id": document["id"], "version": document["version"]})
