"""Generate text with an AI provider from a prompt template."""

from __future__ import annotations

from pydantic import Field

import services.ai.service as ai
from services.ai.base import GenerateRequest
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class GenerateConfig(NodeConfig):
    prompt: str = Field(min_length=1, description="Prompt (template), e.g. 'Write about {{ in.topic }}'.")
    system: str = Field(default="", description="System prompt (template).")
    provider: str | None = Field(default=None, max_length=30, description="Provider name; default from settings.")
    model: str = Field(default="", max_length=100)
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=1024, ge=1, le=32000)


class AIGenerateNode(NodeType[GenerateConfig]):
    type_name = "ai_generate"
    display_name = "AI generate"
    description = "Writes text with an AI provider from a prompt over earlier nodes' outputs."
    category = "AI"
    icon = "sparkles"
    config_model = GenerateConfig
    template_fields = ("prompt", "system")

    async def run(self, config: GenerateConfig, ctx: NodeContext) -> NodeOutput:
        request = GenerateRequest(prompt=ctx.render(config.prompt), system=ctx.render(config.system),
                                  model=config.model, temperature=config.temperature, max_tokens=config.max_tokens)
        result = await ai.generate(request, provider=config.provider, context=ctx.ai_context())
        ctx.log.add(f"{result.provider} model {result.model or 'default'}: {result.usage.input_tokens} tokens in, "
                    f"{result.usage.output_tokens} out, ${result.usage.cost_usd:.4f}")
        return NodeOutput(content=result.text, tokens=result.usage.input_tokens + result.usage.output_tokens,
                          cost=result.usage.cost_usd,
                          metadata={"provider": result.provider, "model": result.model,
                                    "finish_reason": result.finish_reason, **result.metadata})
