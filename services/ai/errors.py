"""AI errors, placed in the product's one error tree (``services.errors``).

    ValidationFailed
    └── UnsupportedOperation     the chosen provider cannot do what was asked
    ServiceUnavailable
    └── ProviderNotConfigured    the provider exists but this deployment has not set it up
"""

from __future__ import annotations

from services import errors


class UnsupportedOperation(errors.ValidationFailed):
    """The chosen provider does not offer this operation; another provider may."""

    code = "unsupported_operation"


class ProviderNotConfigured(errors.ServiceUnavailable):
    """The provider is known but lacks its settings (an API key, a server address)."""

    code = "provider_not_configured"
