"""The errors the SSRF guard raises, in one module so every part of the guard can import them.

    OutboundRefused (ValidationFailed)              the URL, or an address it resolves to, is not allowed
    OutboundFailed (ServiceUnavailable)             the request did not complete; ``retryable`` says if worth retrying
    └── ResponseTooLarge                            the body passed the byte cap (not retryable)
    OutboundAllowlistInvalid (ServiceUnavailable)   OUTBOUND_ALLOWLIST has entries that cannot be read
"""

from __future__ import annotations

from typing import Any

from services import errors


class OutboundRefused(errors.ValidationFailed):
    """The URL, or an address its host resolves to, may not be requested."""

    code = "outbound_refused"


class OutboundFailed(errors.ServiceUnavailable):
    """The request could not complete; ``retryable`` says whether trying again may help."""

    code = "outbound_failed"

    def __init__(self, message: str, *, retryable: bool, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable


class ResponseTooLarge(OutboundFailed):
    """The response body passed the byte cap; asking again will not make it smaller."""

    code = "response_too_large"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message, retryable=False, details=details)


class OutboundAllowlistInvalid(errors.ServiceUnavailable):
    """OUTBOUND_ALLOWLIST holds entries that are not host names, IP addresses or CIDR networks."""

    code = "outbound_allowlist_invalid"


def too_large(host: str, max_bytes: int) -> ResponseTooLarge:
    """The ResponseTooLarge for a body from ``host`` that passed ``max_bytes`` (declared or received)."""
    return ResponseTooLarge(
        f"The response from {host} is larger than {max_bytes} bytes; request a smaller resource or raise "
        "OUTBOUND_MAX_BYTES.",
        details={"host": host, "max_bytes": max_bytes},
    )
