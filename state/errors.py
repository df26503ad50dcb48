"""The one place where errors become what the UI shows: a sentence, and messages per field."""

from __future__ import annotations

from pydantic import ValidationError

from services import errors
from services.db import DATABASE_UNAVAILABLE

_FIELD_LABELS = {"email": "Email", "password": "Password", "full_name": "Name"}


def _pydantic_message(problem: dict[str, object]) -> str:
    text = str(problem.get("msg", "is invalid"))
    if problem.get("type") == "value_error" and "email" in text.lower():
        return "Enter a valid email address, like ada@example.com."
    if problem.get("type") == "string_too_short":
        return "This field is required."
    return text.removeprefix("Value error, ")


def field_errors(exc: Exception) -> dict[str, str]:
    """Messages keyed by form field name, for the fields the error names."""
    if isinstance(exc, ValidationError):
        return {str(p["loc"][0]): _pydantic_message(dict(p)) for p in exc.errors() if p.get("loc")}
    if isinstance(exc, errors.DomainError) and isinstance(exc.details, list):
        named = [str(d["field"]) for d in exc.details if isinstance(d, dict) and "field" in d]
        # "sample_variables.total" is shown under the form's "sample_variables" field
        return {key: exc.message for field in named for key in (field, field.split(".", 1)[0])}
    return {}


def form_message(exc: Exception) -> str:
    """A sentence for the whole form: what went wrong and what to do."""
    if isinstance(exc, ValidationError):
        fields = ", ".join(_FIELD_LABELS.get(str(p["loc"][0]), str(p["loc"][0])) for p in exc.errors() if p["loc"])
        return f"Check these fields: {fields}."
    if isinstance(exc, errors.DomainError):
        return exc.message
    return "Something went wrong on our side; try again in a moment."


def unexpected_message(exc: Exception) -> str:
    """A sentence for an error no page event expected (see ``state.unexpected_error``)."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return "The database is unavailable or busy, so that was not done; try again in a moment."
    return "Something went wrong on our side, so that was not done; it has been logged."
