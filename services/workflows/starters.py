"""Workflows made from something else the user built: an AI Studio prompt becomes input → AI generate → output."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.user import User
from models.workflow import Workflow, WorkflowCreate
from services.ai.base import GenerateRequest
from services.workflows import service as workflows

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


def placeholder_names(*texts: str) -> list[str]:
    """The ``{{ name }}`` placeholders in ``texts``, each once, in order of appearance."""
    return list(dict.fromkeys(name for text in texts for name in PLACEHOLDER.findall(text)))


def prompt_graph(request: GenerateRequest, provider: str | None) -> dict[str, Any]:
    """input → ai_generate → output; the prompt's placeholders become the run's parameters."""

    def as_parameters(text: str) -> str:
        return PLACEHOLDER.sub(lambda match: f"{{{{ params.{match.group(1)} }}}}", text)

    generate = {"prompt": as_parameters(request.prompt), "system": as_parameters(request.system),
                "provider": provider or None, "model": request.model, "temperature": request.temperature,
                "max_tokens": request.max_tokens}
    return {
        "nodes": [
            {"id": "input", "type": "input", "config": {"fields": placeholder_names(request.prompt, request.system)},
             "position": {"x": 0, "y": 0}},
            {"id": "generate", "type": "ai_generate", "config": generate, "position": {"x": 300, "y": 0}},
            {"id": "output", "type": "output", "config": {"format": "markdown"}, "position": {"x": 600, "y": 0}},
        ],
        "edges": [{"source": "input", "target": "generate"}, {"source": "generate", "target": "output"}],
    }


async def create_from_prompt(actor: User, request: GenerateRequest, provider: str | None, *,
                             session: AsyncSession) -> Workflow:
    """A new draft workflow that runs this prompt, named after its first line."""
    title = (request.prompt.strip().splitlines() or ["Untitled prompt"])[0][:80]
    data = WorkflowCreate(name=f"AI Studio: {title}", description="Saved from AI Studio.", tags=["ai-studio"],
                          graph=prompt_graph(request, provider))
    return await workflows.create(actor, data, session=session)
