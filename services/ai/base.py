"""The AI provider interface and the typed requests and results every provider speaks.

A provider is a subclass of :class:`AIProvider` that declares its name, display name, models and
whether it is a language model, and implements ``is_configured`` and ``generate``. ``stream`` falls
back to chunking ``generate``'s text; ``analyze`` and ``embed`` raise :class:`UnsupportedOperation`
unless the provider offers text analysis or embeddings. Providers are registered by an explicit
list in ``registry.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, Field

from services import errors
from services.ai.errors import UnsupportedOperation
from services.ai.text.tokens import word_chunks
from services.package_versions import package_version

AnalysisKind = Literal["sentiment", "keywords", "summary", "readability", "language", "entities"]
ANALYSIS_KINDS: tuple[AnalysisKind, ...] = get_args(AnalysisKind)

FinishReason = Literal["stop", "length", "content_filter"]
SentimentLabel = Literal["positive", "negative", "neutral"]


MAX_PROMPT_CHARS = 200_000


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_PROMPT_CHARS)


class GenerateRequest(BaseModel):
    """What to generate: a prompt or a conversation, with sampling limits and template variables."""

    prompt: str = Field(default="", max_length=MAX_PROMPT_CHARS)
    messages: list[ChatMessage] = Field(default_factory=list, max_length=200)
    system: str = Field(default="", max_length=MAX_PROMPT_CHARS)
    model: str = Field(default="", description="Empty means the provider's first (default) model.")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=1024, ge=1, le=32_000)
    variables: dict[str, Any] = Field(default_factory=dict)


class Usage(BaseModel):
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0.0)


class GenerateResult(BaseModel):
    """An answer. ``provider`` is the provider that answered (after any fallback)."""

    text: str
    provider: str
    model: str
    usage: Usage
    metadata: dict[str, Any] = Field(default_factory=dict)
    finish_reason: FinishReason = "stop"
    cached: bool = Field(default=False, description="Served from the answer cache: no provider call, no cost.")
    fallback_from: list[str] = Field(default_factory=list, description="Providers that failed before this one.")
    latency_ms: float = Field(default=0.0, ge=0.0)


class Sentiment(BaseModel):
    """Overall tone. ``score`` runs from -1 (negative) to 1 (positive); VADER's parts when known."""

    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0)
    compound: float | None = Field(default=None, ge=-1.0, le=1.0)
    positive: float | None = Field(default=None, ge=0.0, le=1.0)
    neutral: float | None = Field(default=None, ge=0.0, le=1.0)
    negative: float | None = Field(default=None, ge=0.0, le=1.0)


class Keyword(BaseModel):
    """A key phrase and its relevance: higher is more relevant."""

    text: str
    score: float = Field(ge=0.0, le=1.0)


class Readability(BaseModel):
    flesch_reading_ease: float
    flesch_kincaid_grade: float
    words: int = Field(ge=0)
    sentences: int = Field(ge=0)
    avg_sentence_length: float = Field(ge=0.0, description="Words per sentence.")
    avg_syllables_per_word: float = Field(ge=0.0)


class Language(BaseModel):
    """An ISO 639-1 code (``und`` when undetermined) and how sure the guess is, 0 to 1."""

    code: str
    confidence: float = Field(ge=0.0, le=1.0)


class Entity(BaseModel):
    text: str
    label: str


class AnalyzeResult(BaseModel):
    """One field per analysis kind; a field is ``None`` when that kind was not asked for."""

    provider: str
    model: str
    sentiment: Sentiment | None = None
    keywords: list[Keyword] | None = None
    summary: str | None = None
    readability: Readability | None = None
    language: Language | None = None
    entities: list[Entity] | None = None
    usage: Usage = Field(default_factory=Usage)
    metadata: dict[str, Any] = Field(default_factory=dict)


class EmbedResult(BaseModel):
    """One vector per input text, in the order given; all vectors have the model's dimension."""

    provider: str
    model: str
    vectors: list[list[float]]
    usage: Usage = Field(default_factory=Usage)


class ProviderInfo(BaseModel):
    """What the UI and API show about a registered provider."""

    name: str
    display_name: str
    configured: bool
    is_language_model: bool
    models: list[str]


class AIProvider(ABC):
    """One AI backend. Subclasses declare the class attributes and implement the abstract methods."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    is_language_model: ClassVar[bool]
    models: ClassVar[tuple[str, ...]]
    embedding_models: ClassVar[tuple[str, ...]] = ()
    sdk_package: ClassVar[str] = ""
    """The distribution of the vendor SDK this provider calls through (``""``: none, e.g. builtin)."""
    last_streamed: GenerateResult | None = None
    """Set when ``stream`` has finished: the whole answer with its usage, as ``generate`` returns it."""

    @abstractmethod
    def is_configured(self) -> bool:
        """Whether this deployment has what the provider needs (keys, addresses) to be called."""

    @abstractmethod
    async def generate(self, request: GenerateRequest) -> GenerateResult:
        """The provider's complete answer to ``request``."""

    async def stream(self, request: GenerateRequest) -> AsyncIterator[str]:
        """The answer piece by piece; the joined pieces equal ``generate``'s text.

        This default yields ``generate``'s text in word-sized chunks; providers with native
        streaming override it.
        """
        result = await self.generate(request)
        self.last_streamed = result
        for chunk in word_chunks(result.text):
            yield chunk

    async def analyze(self, text: str, kinds: Sequence[AnalysisKind]) -> AnalyzeResult:
        """The analyses named in ``kinds`` of ``text``; raises UnsupportedOperation if not offered."""
        raise UnsupportedOperation(
            f"The {self.display_name} provider does not analyse text; choose the 'builtin' provider for analysis.",
            details=[{"field": "provider", "message": "does not support analysis"}],
        )

    async def embed(self, texts: Sequence[str], model: str = "") -> EmbedResult:
        """One embedding vector per text (``model`` empty: the provider's embedding model).

        Raises UnsupportedOperation unless the provider offers embeddings.
        """
        raise UnsupportedOperation(
            f"The {self.display_name} provider does not embed text; choose 'openai', 'local' or 'google'.",
            details=[{"field": "provider", "message": "does not support embeddings"}],
        )

    def available_embedding_models(self) -> tuple[str, ...]:
        """The embedding models this deployment offers, default first (none: ``embed`` is unsupported)."""
        return self.embedding_models

    def resolve_embedding_model(self, requested: str) -> str:
        """``requested``, or the default embedding model when empty; raises ValidationFailed for an unknown one."""
        offered = self.available_embedding_models()
        if not requested:
            return offered[0]
        if requested not in offered:
            names = ", ".join(offered)
            raise errors.ValidationFailed(
                f"The {self.display_name} provider has no embedding model '{requested}'; choose one of: {names}.",
                details=[{"field": "model", "message": f"unknown embedding model; choose one of: {names}"}])
        return requested

    def available_models(self) -> tuple[str, ...]:
        """The models this deployment offers, default first: ``models`` unless settings choose them."""
        return self.models

    def resolve_model(self, requested: str) -> str:
        """``requested``, or the default model when empty; raises ValidationFailed for an unknown model."""
        models = self.available_models()
        if not requested:
            return models[0]
        if requested not in models:
            offered = ", ".join(models)
            raise errors.ValidationFailed(
                f"The {self.display_name} provider has no model '{requested}'; choose one of: {offered}.",
                details=[{"field": "model", "message": f"unknown model; choose one of: {offered}"}],
            )
        return requested

    def sdk_version(self) -> str:
        """``"<package> <version>"`` of the installed SDK, or ``""`` when the provider has none (or it is missing)."""
        return package_version(self.sdk_package) if self.sdk_package else ""

    def info(self) -> ProviderInfo:
        """This provider's description for listings."""
        return ProviderInfo(name=self.name, display_name=self.display_name, configured=self.is_configured(),
                            is_language_model=self.is_language_model, models=list(self.available_models()))
