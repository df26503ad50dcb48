"""Posting a message over HTTP and reading the provider's answer, shared by the HTTP channels.

    post_guarded(display_name, url, ...)     through the SSRF guard: for URLs a user gave (webhooks, chat)
    post_direct(display_name, url, ...)      a plain client: for the provider URL the operator configured
    raise_for_answer(display_name, answer)   ChannelFailed for a non-2xx answer, retryable for 408/425/429/5xx

Both post functions return every HTTP status as a :class:`ProviderAnswer`; only transport failures
raise (ChannelFailed, retryable for timeouts and network errors). Both wait at most
NOTIFY_HTTP_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from services.net import outbound
from services.net.clients import client_for
from services.net.http_failures import redacted, retry_after_seconds
from services.notifications.channels.base import ChannelFailed
from services.settings import get_settings

RETRYABLE_STATUSES: Final = frozenset({408, 425, 429})
_SUMMARY_CHARS: Final = 500


@dataclass(frozen=True)
class ProviderAnswer:
    """A provider's complete answer: status, lower-cased headers, body."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or an empty dict when it is not one."""
        try:
            parsed = jsonlib.loads(self.body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def summary(self, *, secret: str = "") -> dict[str, Any]:
        """What a receipt keeps: the status and the start of the body, ``secret`` redacted."""
        return {"status": self.status_code, "body": redacted(self.text[:_SUMMARY_CHARS], secret)}


async def post_guarded(
    display_name: str,
    url: str,
    *,
    headers: Mapping[str, str],
    json: Any = None,
    content: bytes | None = None,
) -> ProviderAnswer:
    """POST to a user-given ``url`` through the SSRF guard (services.net.outbound).

    A URL or address the guard refuses, and an unreadable OUTBOUND_ALLOWLIST, fail without retry:
    the same URL will be refused again.
    """
    try:
        response = await outbound.fetch("POST", url, headers=headers, json=json, content=content,
                                        timeout=get_settings().notify_http_timeout_seconds)
    except outbound.OutboundRefused as exc:
        raise ChannelFailed(f"{display_name}: {exc.message}", retryable=False, details=exc.details) from exc
    except outbound.OutboundFailed as exc:
        raise ChannelFailed(f"{display_name}: {exc.message}", retryable=exc.retryable, details=exc.details) from exc
    except outbound.OutboundAllowlistInvalid as exc:
        raise ChannelFailed(exc.message, retryable=False, details=exc.details) from exc
    return ProviderAnswer(response.status_code, response.headers, response.body)


async def post_direct(
    display_name: str,
    url: str,
    *,
    headers: Mapping[str, str],
    data: Mapping[str, str] | None = None,
    content: bytes | None = None,
    auth: tuple[str, str] | None = None,
) -> ProviderAnswer:
    """POST to the operator-configured provider ``url`` (Twilio, ntfy) without the SSRF guard."""
    seconds = get_settings().notify_http_timeout_seconds
    client = client_for(("notifications-http", seconds), lambda: httpx.AsyncClient(timeout=seconds))
    try:
        response = await client.post(url, headers=dict(headers), data=data, content=content,
                                     auth=httpx.BasicAuth(*auth) if auth else httpx.USE_CLIENT_DEFAULT)
    except httpx.TimeoutException as exc:
        raise ChannelFailed(f"{display_name} did not answer within {seconds:g} seconds; try again later.",
                            retryable=True) from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise ChannelFailed(f"{display_name} could not be reached ({exc}); it may be down, try again later.",
                            retryable=True) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ChannelFailed(f"The request to {display_name} could not be sent ({exc}); check its base URL setting.",
                            retryable=False) from exc
    return ProviderAnswer(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                          response.content)


def raise_for_answer(display_name: str, answer: ProviderAnswer, *, reason: str = "",
                     retry_after: float | None = None) -> None:
    """Return quietly for a 2xx answer; otherwise raise ChannelFailed with the provider's ``reason``.

    408, 425, 429 and 5xx are retryable, after ``retry_after`` seconds or the answer's Retry-After;
    any other status is permanent.
    """
    if answer.ok:
        return
    status = answer.status_code
    retryable = status in RETRYABLE_STATUSES or status >= 500
    wait = retry_after if retry_after is not None else retry_after_seconds(answer.headers)
    said = reason.strip() or answer.text.strip()[:200] or "no reason given"
    message = f"{display_name} refused the message with HTTP {status}: {said}"
    if status == 429:
        message = f"{display_name} is rate limiting (HTTP 429): {said}"
    raise ChannelFailed(message, retryable=retryable, retry_after=wait if retryable else None,
                        details={"status": status})
