"""The product's one error tree. Services raise these; entry points map them once.

    DomainError                      base: a sentence for people, a code for machines
    ├── NotFound                     the thing asked for does not exist (or is not yours)
    ├── Conflict                     it exists already / changed under you
    ├── ValidationFailed             input is wrong; ``details`` says which field and why
    ├── AuthenticationFailed         no valid credentials
    ├── PermissionDenied             valid credentials, but the role does not allow it
    ├── RateLimited                  too many attempts; ``retry_after`` seconds to wait
    ├── ServiceUnavailable           a dependency (database, Redis, provider) is down
    │   ├── Overloaded               too busy to take the request now; ``retry_after`` seconds to wait
    │   └── ProviderUnavailable      an external provider could not be reached
    └── ExecutionFailed              a workflow node failed; ``retryable`` and ``retry_after`` say
                                     whether and when the engine may try it again

The API maps each class to an HTTP status in ``dashboard/api/errors.py``; the UI shows
``message`` inline through ``state/errors.py``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class ValidationFailed(DomainError):
    code = "validation_failed"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"


class PermissionDenied(DomainError):
    code = "permission_denied"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    code = "service_unavailable"


class Overloaded(ServiceUnavailable):
    """This process has more of some work in hand than it takes at once, and the caller waited its turn in vain."""

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ProviderUnavailable(ServiceUnavailable):
    """An external provider we call (an AI API, a mail relay) failed or did not answer (HTTP 502)."""

    code = "provider_unavailable"


class ExecutionFailed(DomainError):
    """A node could not do its work. The engine retries it only when ``retryable``."""

    code = "execution_failed"

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None,
                 details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable
        self.retry_after = retry_after
