"""Structured logs: one JSON object per line with request id and run id, and secrets masked everywhere.

``configure_logging()`` installs one handler on the root logger (the app and the worker call it at
start). The redaction filter sits on that handler, so a secret is masked whichever logger wrote the
line, and whatever form it took: the message, its arguments, or an exception's text.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import SecretStr

from services.observability.context import current_request_id, current_run_id
from services.settings import Settings, get_settings

MASK = "***"
_MIN_SECRET_LENGTH = 6  # shorter "secrets" would mask ordinary words
_HANDLER_NAME = "dwc"


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret value the settings hold (API keys, passwords, tokens), longest first."""
    values = [getattr(settings, name).get_secret_value() for name, info in type(settings).model_fields.items()
              if info.annotation is SecretStr]
    values.append(settings.signing_secret())
    return sorted({v for v in values if len(v) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of every secret replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactSecrets(logging.Filter):
    """Render the record's message once, mask secrets in it and in the traceback text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.secrets), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:  # also when another handler's filter rendered it first
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


class ContextFilter(logging.Filter):
    """Stamp the request id and run id of the current task on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.run_id = current_run_id()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", "run_id", "exception"}``, one per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for key in ("request_id", "run_id"):
            value = getattr(record, key, "")
            if value:
                entry[key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(run_id)s]: %(message)s"


def build_handler(settings: Settings, stream: object = None) -> logging.Handler:
    """A stream handler with the context stamp, the secret mask and the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactSecrets(configured_secrets(settings)))
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    return handler


def configure_logging(settings: Settings | None = None) -> None:
    """Install the product's handler on the root logger (once; a second call replaces it)."""
    settings = settings or get_settings()
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(build_handler(settings))
    root.setLevel(settings.log_level)
