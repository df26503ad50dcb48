"""Analyse text: sentiment, keywords, summary (and more where the provider can)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

import services.ai.service as ai
from services.ai.base import AnalysisKind
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


def _default_analyses() -> list[AnalysisKind]:
    return ["sentiment", "keywords", "summary"]


class AnalyzeConfig(NodeConfig):
    source: str = Field(default="", description="Text to analyse (template); default: the connected nodes' content.")
    analyses: list[AnalysisKind] = Field(default_factory=_default_analyses, min_length=1)
    provider: str | None = Field(default=None, max_length=30)


class AIAnalyzeNode(NodeType[AnalyzeConfig]):
    type_name = "ai_analyze"
    display_name = "AI analyze"
    description = "Finds sentiment, keywords and a summary of a text; results become fields for later nodes."
    category = "AI"
    icon = "scan-text"
    config_model = AnalyzeConfig
    template_fields = ("source",)

    async def run(self, config: AnalyzeConfig, ctx: NodeContext) -> NodeOutput:
        text = ctx.render(config.source) if config.source else ctx.joined_inputs()
        result = await ai.analyze(text, config.analyses, provider=config.provider, context=ctx.ai_context())
        fields: dict[str, Any] = result.model_dump(exclude={"usage", "metadata", "provider", "model"},
                                                   exclude_none=True, mode="json")
        ctx.log.add(f"{result.provider} model {result.model or 'default'}: {result.usage.input_tokens} tokens in, "
                    f"{result.usage.output_tokens} out, ${result.usage.cost_usd:.4f}")
        return NodeOutput(content=result.summary or text, fields=fields,
                          tokens=result.usage.input_tokens + result.usage.output_tokens, cost=result.usage.cost_usd,
                          metadata={"provider": result.provider, "model": result.model, **result.metadata})
