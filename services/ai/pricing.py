"""What an AI call costs: a price table per provider and model, in USD per million tokens.

The table ships as ``services/ai/prices.json``; ``AI_PRICES_FILE`` names a replacement in the same
format, so prices can be edited without a release. ``"*"`` prices every model of a provider.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from services import errors
from services.ai.base import Usage
from services.settings import get_settings

log = logging.getLogger(__name__)
BUILTIN_PRICES = Path(__file__).with_name("prices.json")
_PER_TOKEN = 1 / 1_000_000


class ModelPrice(BaseModel):
    input: float = Field(ge=0, description="USD per million input tokens.")
    output: float = Field(ge=0, description="USD per million output tokens.")


PriceTable = dict[str, dict[str, ModelPrice]]


def price_table() -> PriceTable:
    """The table in force (``AI_PRICES_FILE`` or the built-in one)."""
    return _load(get_settings().ai_prices_file.strip() or str(BUILTIN_PRICES))


@lru_cache(maxsize=4)
def _load(path: str) -> PriceTable:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return {provider: {model: ModelPrice.model_validate(price) for model, price in models.items()}
                for provider, models in raw.items() if not provider.startswith("_")}
    except (OSError, ValueError, ValidationError, AttributeError) as exc:
        raise errors.ServiceUnavailable(
            f"The AI price table {path} cannot be read ({type(exc).__name__}); fix AI_PRICES_FILE.") from exc


def price_of(provider: str, model: str) -> ModelPrice | None:
    models = price_table().get(provider, {})
    return models.get(model) or models.get("*")


def cost_usd(provider: str, model: str, usage: Usage) -> float:
    """The call's cost; 0 (logged once per model) when the table does not know the model."""
    price = price_of(provider, model)
    if price is None:
        _warn_unpriced(provider, model)
        return 0.0
    return round((usage.input_tokens * price.input + usage.output_tokens * price.output) * _PER_TOKEN, 8)


def blended_price(provider: str, model: str) -> float:
    """A single figure to rank providers by cost: input plus output price per million tokens."""
    price = price_of(provider, model)
    return float("inf") if price is None else price.input + price.output


@lru_cache(maxsize=256)
def _warn_unpriced(provider: str, model: str) -> None:
    log.warning("no price for AI model %s/%s: its calls are recorded at cost 0; add it to the price table",
                provider, model)
