"""AI Studio: generate with a chosen provider (streamed, stoppable), analyse text, and this tab's history.

Every event that spends AI re-checks the role on the server (editors and admins may use AI),
whatever the page shows. Answers stream through a background event; the service's stream is
pumped into a queue by a task of its own, so Stop can cancel it at once, even while the provider
is still silent, without ever cancelling a task that holds the state lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import reflex as rx
from pydantic import ValidationError

from models.user import Role
from services import errors
from services.ai import service as ai
from services.ai.base import AnalyzeResult, GenerateRequest, GenerateResult
from services.ai.usage import CallContext
from services.auth.permissions import Permission, allows, require
from services.db import open_session
from services.settings import get_settings
from services.workflows import starters
from services.workflows.starters import placeholder_names
from state.auth import AuthState
from state.errors import form_message

log = logging.getLogger(__name__)

# Only plain names get an input: the service fills ``{{ name }}`` from the variables it is given.
_ROLES_THAT_USE_AI = frozenset(r.value for r in Role if allows(r, Permission.USE_AI))
ANALYSIS_CHOICES = ("sentiment", "keywords", "summary")
_HISTORY_LIMIT = 20
_MAX_TOKENS_LIMIT = 32_000
_ANALYSIS_PROVIDER = "builtin"  # the one provider that analyses text

_END = object()
# The answer stream of each browser tab in this process (a tab's events reach the process that
# holds its websocket), so that Stop can cancel it.
_IN_FLIGHT: dict[str, asyncio.Task[None]] = {}


@dataclass
class ProviderOption:
    name: str
    label: str
    configured: bool
    models: list[str] = field(default_factory=list)


@dataclass
class HistoryEntry:
    id: str
    at: str
    prompt: str
    system: str
    provider: str
    model: str
    temperature: float
    max_tokens: int
    variables: dict[str, str]
    first_line: str
    output: str


def usage_line(result: GenerateResult) -> str:
    """One line about an answer: who answered, tokens, cost, latency, cache and fallback."""
    cost = result.usage.cost_usd
    parts = [f"{result.provider} · {result.model}", f"{result.usage.input_tokens} tokens in",
             f"{result.usage.output_tokens} out", f"${cost:.4f}" if cost == 0 or cost >= 0.0001 else "<$0.0001",
             f"{result.latency_ms:.0f} ms"]
    if result.cached:
        parts.append("from cache")
    if result.fallback_from:
        parts.append(f"fell back from {', '.join(result.fallback_from)}")
    if result.finish_reason == "length":
        parts.append("cut at max tokens")
    return " · ".join(parts)


async def _pump(stream: AsyncIterator[str | GenerateResult], queue: asyncio.Queue[object]) -> None:
    """Move the service's stream into ``queue``; an error is queued as the last item."""
    try:
        async with contextlib.aclosing(stream):
            async for item in stream:
                queue.put_nowait(item)
    except Exception as exc:  # shown inline by the consumer; only unexpected ones are logged
        if not isinstance(exc, errors.DomainError):
            log.exception("the AI Studio stream failed")
        queue.put_nowait(exc)


async def _next_batch(queue: asyncio.Queue[object]) -> tuple[list[object], bool]:
    """Everything queued now (waiting for at least one item), and whether the stream has ended."""
    items = [await queue.get()]
    while not queue.empty():
        items.append(queue.get_nowait())
    return [item for item in items if item is not _END], _END in items


class AIStudioState(AuthState):
    """The AI Studio page: the generate form, its streamed answer, analysis, and this tab's history."""

    providers: list[ProviderOption] = []
    provider: str = ""
    model: str = ""
    prompt: str = ""
    system: str = ""
    variable_values: dict[str, str] = {}
    temperature: float = 0.7
    max_tokens: str = "1024"
    output: str = ""
    output_note: str = ""
    answer_usage: str = ""
    generate_error: str = ""
    generating: bool = False
    history: list[HistoryEntry] = []
    notice: str = ""
    analyze_text: str = ""
    analyze_kinds: list[str] = list(ANALYSIS_CHOICES)
    analyze_error: str = ""
    analyzing: bool = False
    analyzed: bool = False
    sentiment_label: str = ""
    sentiment_score: float = 0.0
    keywords: list[str] = []
    summary: str = ""
    _pending: dict[str, Any] = {}

    @rx.var
    def can_use_ai(self) -> bool:
        return self.user_role in _ROLES_THAT_USE_AI

    @rx.var
    def variable_names(self) -> list[str]:
        return placeholder_names(self.prompt, self.system)

    @rx.var
    def models(self) -> list[str]:
        return next((p.models for p in self.providers if p.name == self.provider), [])

    @rx.var
    def unconfigured_note(self) -> str:
        missing = [p.label for p in self.providers if not p.configured]
        if not missing:
            return ""
        return (f"Not configured on this server: {', '.join(missing)}. An administrator enables a provider by "
                "setting its API key or address (see .env.example).")

    @rx.var
    def provider_is_offline(self) -> bool:
        return self.provider == "builtin"

    @rx.var
    def sentiment_marker(self) -> str:
        return f"{(self.sentiment_score + 1) * 50:.1f}%"

    @rx.var
    def sentiment_score_text(self) -> str:
        return f"{self.sentiment_score:+.2f}"

    @rx.event
    def load(self) -> None:
        """on_load: the providers and which of them this deployment has configured."""
        if self.generating and self.router.session.client_token not in _IN_FLIGHT:
            self.generating = False  # the process streaming this tab's answer is gone (a restart)
        self.providers = [ProviderOption(p.name, p.display_name, p.configured, p.models) for p in ai.list_providers()]
        ready = [p.name for p in self.providers if p.configured]
        if self.provider not in ready:
            default = get_settings().ai_default_provider.strip().lower()
            self.provider = default if default in ready else (ready[0] if ready else "")
            self.model = self.models[0] if self.models else ""

    @rx.event
    def set_provider(self, name: str) -> None:
        if not any(p.name == name and p.configured for p in self.providers):
            self.generate_error = f"The provider '{name}' is not configured on this server; choose another."
            return
        self.provider, self.generate_error = name, ""
        self.model = self.models[0] if self.models else ""

    @rx.event
    def set_model(self, model: str) -> None:
        self.model = model

    @rx.event
    def set_prompt(self, prompt: str) -> None:
        self.prompt = prompt

    @rx.event
    def set_system(self, system: str) -> None:
        self.system = system

    @rx.event
    def set_variable(self, name: str, value: str) -> None:
        self.variable_values = {**self.variable_values, name: value}

    @rx.event
    def set_temperature(self, value: list[float]) -> None:
        self.temperature = round(min(max(float(value[0]), 0.0), 2.0), 2)

    @rx.event
    def set_max_tokens(self, value: str) -> None:
        self.max_tokens = value

    @rx.event
    async def generate(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Generate (button or Ctrl+Enter): the form carries the prompt as typed, ahead of any debounce."""
        self.prompt = str(form.get("prompt", self.prompt))
        return await self._start_generation()

    @rx.event
    async def rerun(self, entry_id: str) -> rx.event.EventSpec | None:
        """Put a past generation's settings back in the form and generate again."""
        entry = next((e for e in self.history if e.id == entry_id), None)
        if entry is None:
            return None
        self.prompt, self.system, self.provider, self.model = entry.prompt, entry.system, entry.provider, entry.model
        self.temperature, self.max_tokens = entry.temperature, str(entry.max_tokens)
        self.variable_values = {**self.variable_values, **entry.variables}
        return await self._start_generation()

    async def _start_generation(self) -> rx.event.EventSpec | None:
        """Check role and inputs, remember the request, and hand over to the streaming event."""
        if self.generating:
            return None
        self.generate_error = self.notice = ""
        try:
            request = self._request()
            async with open_session() as session:
                user = await self._signed_in_user(session)
            require(user.role, Permission.USE_AI)
        except (errors.DomainError, ValidationError) as exc:
            self.generate_error = form_message(exc)
            return None
        self._pending = {"request": request.model_dump(), "provider": self.provider, "user_id": str(user.id)}
        self.generating, self.output, self.output_note, self.answer_usage = True, "", "", ""
        return AIStudioState.stream_answer

    def _request(self) -> GenerateRequest:
        try:
            max_tokens = int(self.max_tokens)
        except ValueError:
            max_tokens = 0
        if not 1 <= max_tokens <= _MAX_TOKENS_LIMIT:
            raise errors.ValidationFailed(f"Max tokens must be a whole number from 1 to {_MAX_TOKENS_LIMIT:,}.",
                                          details=[{"field": "max_tokens", "message": "from 1 to 32,000"}])
        # A blank variable stays as its placeholder, so a forgotten one shows in the answer.
        variables = {name: value for name in self.variable_names if (value := self.variable_values.get(name, ""))}
        return GenerateRequest(prompt=self.prompt, system=self.system, model=self.model,
                               temperature=self.temperature, max_tokens=max_tokens, variables=variables)

    @rx.event(background=True)
    async def stream_answer(self) -> None:
        """Append the answer to the output as it arrives, in as few state updates as the pace allows."""
        async with self:
            # Taken once: only `_start_generation`, after its checks, leaves a request here.
            pending, tab, self._pending = dict(self._pending), self.router.session.client_token, {}
        if not pending:
            return
        queue: asyncio.Queue[object] = asyncio.Queue()
        stream = ai.stream_answer(GenerateRequest(**pending["request"]), provider=pending["provider"] or None,
                                  context=CallContext(user_id=uuid.UUID(pending["user_id"])))
        pump = asyncio.create_task(_pump(stream, queue))
        pump.add_done_callback(lambda _: queue.put_nowait(_END))  # runs even if cancelled before it started
        _IN_FLIGHT[tab] = pump
        try:
            ended = False
            while not ended:
                items, ended = await _next_batch(queue)
                async with self:
                    self._take(items, pending)
        finally:
            _IN_FLIGHT.pop(tab, None)
            pump.cancel()  # a no-op once the stream has ended; otherwise it must not outlive this event
        async with self:
            self.generating = False
            if pump.cancelled():
                self.output_note = "Stopped: the answer above is partial." if self.output else "Stopped."

    def _take(self, items: list[object], pending: dict[str, Any]) -> None:
        pieces = [item for item in items if isinstance(item, str)]
        self.output += "".join(pieces)
        for item in items:
            if isinstance(item, GenerateResult):
                self.answer_usage = usage_line(item)
                self._remember(item, pending)
            elif isinstance(item, Exception):
                self.generate_error = form_message(item)

    def _remember(self, result: GenerateResult, pending: dict[str, Any]) -> None:
        request = pending["request"]
        first_line = next((line.strip("# ").strip() for line in result.text.splitlines() if line.strip()), "")
        entry = HistoryEntry(id=uuid.uuid4().hex[:12], at=datetime.now(UTC).strftime("%H:%M:%S"),
                             prompt=request["prompt"], system=request["system"], provider=result.provider,
                             model=result.model, temperature=request["temperature"],
                             max_tokens=request["max_tokens"], variables=dict(request["variables"]),
                             first_line=first_line[:160], output=result.text)
        self.history = [entry, *self.history][:_HISTORY_LIMIT]

    @rx.event
    def stop(self) -> None:
        """Cancel this tab's answer stream; what arrived so far stays on the page."""
        pump = _IN_FLIGHT.get(self.router.session.client_token)
        if pump is not None:
            pump.cancel()

    @rx.event
    def show_copied(self) -> None:
        self.notice = "Copied the answer to the clipboard."

    @rx.event
    async def save_as_workflow(self) -> rx.event.EventSpec | None:
        """Save the form as an input → AI generate → output workflow, then open the workflows page."""
        self.generate_error = self.notice = ""
        try:
            request = self._request()
            async with open_session() as session:
                user = await self._signed_in_user(session)
                workflow = await starters.create_from_prompt(user, request, self.provider, session=session)
        except (errors.DomainError, ValidationError) as exc:
            self.generate_error = form_message(exc)
            return None
        return rx.redirect(f"/workflows?created={workflow.id}")

    @rx.event
    def set_analyze_text(self, text: str) -> None:
        self.analyze_text = text

    @rx.event
    def toggle_kind(self, kind: str, checked: bool) -> None:
        chosen = set(self.analyze_kinds) | {kind} if checked else set(self.analyze_kinds) - {kind}
        self.analyze_kinds = [k for k in ANALYSIS_CHOICES if k in chosen]

    @rx.event
    async def analyze(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Analyse the text with the offline provider: sentiment, keywords and summary as chosen."""
        self.analyze_text = str(form.get("analyze_text", self.analyze_text))
        self.analyze_error, self.analyzing = "", True
        yield
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
            require(user.role, Permission.USE_AI)
            result = await ai.analyze(self.analyze_text, self.analyze_kinds, provider=_ANALYSIS_PROVIDER,
                                      context=CallContext(user_id=user.id))
        except errors.DomainError as exc:
            self.analyze_error = form_message(exc)
        else:
            self._show_analysis(result)
        finally:
            self.analyzing = False

    def _show_analysis(self, result: AnalyzeResult) -> None:
        self.analyzed = True
        self.sentiment_label = result.sentiment.label if result.sentiment else ""
        self.sentiment_score = result.sentiment.score if result.sentiment else 0.0
        self.keywords = [keyword.text for keyword in result.keywords or []]
        self.summary = result.summary or ""
