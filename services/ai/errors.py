"""AI errors, placed in the product's one error tree (``services.errors``).

    ValidationFailed
    ├── UnsupportedOperation     the chosen provider cannot do what was asked
    └── ProviderNotConfigured    the provider exists but this deployment has not set it up
    PermissionDenied
    └── BudgetExceeded           a spending cap is reached (services.ai.budgets)
    ServiceUnavailable
    └── ProviderUnavailable
        └── ProviderFailed       the provider refused the request or could not be reached;
                                 ``retryable`` and ``retry_after`` say whether and when to try again
"""

from __future__ import annotations

from typing import Any

from services import errors


class UnsupportedOperation(errors.ValidationFailed):
    """The chosen provider does not offer this operation; another provider may."""

    code = "unsupported_operation"


class ProviderNotConfigured(errors.ValidationFailed):
    """The provider lacks its settings (an API key, a server address); the message lists those that work."""

    code = "provider_not_configured"


class ProviderFailed(errors.ProviderUnavailable):
    """An external provider answered with an error or did not answer; ``message`` says which and why."""

    code = "provider_failed"

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable
        self.retry_after = retry_after
