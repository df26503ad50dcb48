"""AI: providers and their health, generate (JSON or server-sent events), analyze, document search, usage."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from dashboard.api.deps import caller_with
from dashboard.api.errors import error_body
from models.user import User
from services import errors
from services.ai import health, search
from services.ai import service as ai
from services.ai.base import (
    ANALYSIS_KINDS,
    MAX_PROMPT_CHARS,
    AnalysisKind,
    AnalyzeResult,
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Usage,
)
from services.ai.search import SearchHit
from services.ai.usage import CallContext, UsageTotal
from services.auth.permissions import Permission, allows, require

log = logging.getLogger(__name__)
router = APIRouter(prefix="/advanced/ai", tags=["ai"])

UsageScope = Literal["me", "all"]


class GenerateCall(GenerateRequest):
    """A generate request and how to serve it: provider, streaming, fallback, cache and budget choices."""

    model_config = ConfigDict(extra="forbid")

    provider: str | None = Field(default=None, max_length=40, description="None means AI_DEFAULT_PROVIDER.")
    stream: bool = Field(default=False, description="Answer with text/event-stream: chunk events, then done.")
    fallback: bool = Field(default=True, description="Try AI_FALLBACK_CHAIN when the provider fails.")
    use_cache: bool = Field(default=True, description="Serve (and keep) identical answers from the answer cache.")
    allow_cheaper: bool = Field(default=False, description="Over budget, use a free provider instead of refusing.")


class GenerationPublic(BaseModel):
    """An answer; ``provider_used`` is the provider that answered (after any fallback)."""

    text: str
    provider_used: str
    model: str
    usage: Usage
    cached: bool
    fallback_from: list[str]
    latency_ms: float
    finish_reason: FinishReason
    metadata: dict[str, Any]

    @classmethod
    def of(cls, result: GenerateResult) -> GenerationPublic:
        return cls(provider_used=result.provider, **result.model_dump(exclude={"provider"}))


class AnalyzeCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_PROMPT_CHARS)
    analyses: list[AnalysisKind] = Field(default_factory=lambda: list(ANALYSIS_KINDS), min_length=1)
    provider: str | None = Field(default=None, max_length=40, description="None means AI_DEFAULT_PROVIDER.")


class UsageGrandTotal(BaseModel):
    calls: int
    cached_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class UsageReport(BaseModel):
    """Calls, tokens and cost by UTC day, provider and model, newest day first, with their sum."""

    scope: UsageScope
    days: int
    rows: list[UsageTotal]
    total: UsageGrandTotal

    @classmethod
    def of(cls, scope: UsageScope, days: int, rows: list[UsageTotal]) -> UsageReport:
        total = UsageGrandTotal(calls=sum(r.calls for r in rows), cached_calls=sum(r.cached_calls for r in rows),
                                input_tokens=sum(r.input_tokens for r in rows),
                                output_tokens=sum(r.output_tokens for r in rows),
                                cost_usd=round(sum(r.cost_usd for r in rows), 10))
        return cls(scope=scope, days=days, rows=rows, total=total)


Viewer = Annotated[User, Depends(caller_with(Permission.VIEW))]
AIUser = Annotated[User, Depends(caller_with(Permission.USE_AI))]

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_SSE_DOC: dict[int | str, dict[str, Any]] = {200: {
    "description": "JSON, or with stream=true text/event-stream: `chunk` events ({text}), then `done` "
                   "(the answer as in JSON) or `error` ({error: {code, message}}).",
    "content": {"text/event-stream": {}}}}


@router.get("/providers", response_model=list[health.ProviderStatus])
async def list_providers(user: Viewer, check: bool = False) -> list[health.ProviderStatus]:
    """Every provider with its models and health; ``check=true`` (admin) calls each configured one."""
    if check:
        require(user.role, Permission.ADMINISTER)
    return await health.provider_statuses(check=check)


@router.post("/generate", response_model=GenerationPublic, responses=_SSE_DOC)
async def generate(body: GenerateCall, user: AIUser) -> GenerationPublic | StreamingResponse:
    """Generate text; ``"stream": true`` answers with server-sent events instead of one JSON body."""
    context = CallContext(user_id=user.id)
    if not body.stream:
        return GenerationPublic.of(await ai.generate(body, provider=body.provider, context=context,
                                                     fallback=body.fallback, use_cache=body.use_cache,
                                                     allow_cheaper=body.allow_cheaper))
    answer = ai.stream_answer(body, provider=body.provider, context=context, fallback=body.fallback,
                              use_cache=body.use_cache, allow_cheaper=body.allow_cheaper)
    first = await anext(answer)  # so a refusal or failure before any text is an ordinary JSON error answer
    return StreamingResponse(_events(first, answer), media_type="text/event-stream", headers=_SSE_HEADERS)


@router.post("/analyze", response_model=AnalyzeResult)
async def analyze(body: AnalyzeCall, user: AIUser) -> AnalyzeResult:
    """Sentiment, keywords, summary, readability, language and entities: the ``analyses`` asked for."""
    return await ai.analyze(body.text, body.analyses, provider=body.provider, context=CallContext(user_id=user.id))


class SearchCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=500)
    limit: int = Field(default=10, ge=1, le=100)
    rerank: bool = Field(default=True, description="Re-rank by embeddings when AI_EMBEDDING_PROVIDER is set.")
    scope: UsageScope = Field(default="me", description="'all' (admins) searches every user's documents.")


@router.post("/search", response_model=list[SearchHit])
async def search_documents(body: SearchCall, user: Viewer) -> list[SearchHit]:
    """Documents ranked by full text (FTS5 / tsvector), re-ranked semantically when embeddings are configured."""
    if body.scope == "all":
        require(user.role, Permission.ADMINISTER)
    return await search.search(body.query, owner_id=None if body.scope == "all" else user.id, limit=body.limit,
                               rerank=body.rerank, context=CallContext(user_id=user.id))


@router.get("/usage", response_model=UsageReport)
async def usage_report(user: Viewer, days: Annotated[int, Query(ge=1, le=366)] = 30,
                       scope: UsageScope | None = None) -> UsageReport:
    """AI spend over the last ``days`` days: the caller's (``me``) or everyone's (``all``, admins' default)."""
    scope = scope or ("all" if allows(user.role, Permission.ADMINISTER) else "me")
    if scope == "all":
        require(user.role, Permission.ADMINISTER)
    rows = await ai.usage_totals(user_id=None if scope == "all" else user.id, days=days)
    return UsageReport.of(scope, days, rows)


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def _events(first: str | GenerateResult,
                  rest: AsyncIterator[str | GenerateResult]) -> AsyncIterator[str]:
    """``chunk`` per piece, then ``done`` with the whole answer; ``error`` when the stream fails midway."""
    try:
        item = first
        while True:
            if isinstance(item, GenerateResult):
                yield _event("done", GenerationPublic.of(item).model_dump(mode="json"))
                return
            yield _event("chunk", {"text": item})
            item = await anext(rest)
    except errors.DomainError as failure:
        yield _event("error", error_body(failure.code, failure.message, failure.details))
    except Exception:  # the status line is sent already: the failure can only travel as an event
        log.exception("AI stream failed after it started")
        yield _event("error", error_body("internal_error", "Something went wrong on our side; it has been logged."))
    finally:
        if isinstance(rest, AsyncGenerator):
            await rest.aclose()
