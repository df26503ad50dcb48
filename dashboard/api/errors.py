"""The one place where errors become HTTP answers: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services import errors
from services.db import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.ValidationFailed: 422,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.RateLimited: 429,
    errors.ServiceUnavailable: 503,
    errors.ProviderUnavailable: 502,  # an external provider (an AI API, a mail relay) failed: bad gateway
    errors.ExecutionFailed: 422,
}

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    502: "provider_unavailable",
    503: "service_unavailable",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Malformed JSON", 401: "Missing, invalid or expired access token", 403: "Role does not allow this",
        404: "No such resource", 409: "Conflicts with the resource's current state",
        413: "Body larger than the cap", 415: "Body is not JSON", 422: "A field is invalid",
        429: "Too many attempts", 502: "An external provider failed",
        503: "A dependency is unavailable",
    }.items()
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body every error answer carries."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, message: str, *, code: str | None = None, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error answer with the standard body."""
    return JSONResponse(error_body(code or _CODE_BY_STATUS.get(status, "error"), message, details),
                        status_code=status, headers=headers)


def _status_for(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    headers = ({"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.RateLimited | errors.Overloaded)
               else None)
    if isinstance(exc, errors.AuthenticationFailed):
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(_status_for(exc), exc.message, code=exc.code, details=exc.details, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    """``("body", "items", 0, "name")`` → ``items.0.name``: the location prefix goes, a field called ``query`` stays."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": _field_path(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid"), "type": e.get("type")}
        for e in exc.errors()
    ]
    if any(p["type"] == "json_invalid" for p in problems):
        return error_response(400, "The request body is not valid JSON.", code="malformed_json", details=problems)
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    return error_response(422, f"The request is invalid: {summary}", details=problems)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", type(exc).__name__)
    return error_response(503, "The database is unavailable; try again shortly.", headers={"Retry-After": "1"})


async def _out_of_range(_request: Request, exc: Exception) -> JSONResponse:
    # A number beyond what the database stores (an id of 30 digits): no such row can exist.
    logger.info("value out of range: %s", type(exc).__name__)
    return error_response(422, "A value in the request is out of range (numbers must fit in 64 bits).")


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # A race the service's own checks could not see (two sign-ups with one email at once).
    logger.info("integrity error: %s", type(exc).__name__)
    return error_response(409, "This conflicts with data that was saved at the same moment; reload and retry.")


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "Something went wrong on our side; it has been logged.", code="internal_error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on ``app``."""
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(OverflowError, _out_of_range)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
