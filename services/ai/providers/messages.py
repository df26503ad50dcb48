"""The turns a :class:`GenerateRequest` describes, with placeholders filled, for providers to send.

Each SDK provider maps these turns onto its own wire types; the order and the filling are shared.
"""

from __future__ import annotations

from services.ai.base import ChatMessage, GenerateRequest
from services.ai.text.placeholders import fill_placeholders


def conversation_turns(request: GenerateRequest) -> tuple[list[ChatMessage], list[str]]:
    """The system prompt, the conversation, then the prompt as the last user turn; and unresolved placeholders.

    Placeholders are filled from ``request.variables`` in every turn; each unresolved name is listed
    once, in the order it first appears. A blank system prompt or prompt adds no turn.
    """
    turns = [ChatMessage(role="system", content=request.system)] if request.system.strip() else []
    turns += request.messages
    if request.prompt.strip():
        turns.append(ChatMessage(role="user", content=request.prompt))
    filled: list[ChatMessage] = []
    unresolved: list[str] = []
    for turn in turns:
        content, missing = fill_placeholders(turn.content, request.variables)
        unresolved += missing
        filled.append(ChatMessage(role=turn.role, content=content))
    return filled, list(dict.fromkeys(unresolved))
