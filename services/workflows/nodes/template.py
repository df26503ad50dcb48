"""Render a sandboxed Jinja2 template over upstream outputs."""

from __future__ import annotations

from pydantic import Field

from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class TemplateConfig(NodeConfig):
    template: str = Field(min_length=1, description="Jinja2 template, e.g. '# {{ in.topic }}\\n{{ draft.content }}'.")


class TemplateNode(NodeType[TemplateConfig]):
    type_name = "template"
    display_name = "Template"
    description = "Writes text from a template over earlier nodes' outputs (sandboxed Jinja2)."
    category = "Transform"
    icon = "file-code"
    config_model = TemplateConfig
    replayable = True
    template_fields = ("template",)

    async def run(self, config: TemplateConfig, ctx: NodeContext) -> NodeOutput:
        return NodeOutput(content=ctx.render(config.template))
