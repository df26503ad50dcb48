"""The explicit list of storage backends, chosen by ``STORAGE_URL``'s scheme."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from services import errors
from services.documents.storage.base import StorageBackend
from services.documents.storage.local import LocalStorage
from services.documents.storage.s3 import S3Storage
from services.settings import Settings, get_settings

Factory = Callable[[str, Settings], StorageBackend]


def build_registry(entries: tuple[tuple[str, Factory], ...]) -> dict[str, Factory]:
    """Scheme to factory; refuses a scheme registered twice."""
    registry: dict[str, Factory] = {}
    for scheme, factory in entries:
        if scheme in registry:
            raise RuntimeError(f"storage scheme {scheme!r} is registered twice")
        registry[scheme] = factory
    return registry


BACKENDS = build_registry((
    (LocalStorage.scheme, lambda url, _settings: LocalStorage.from_url(url)),
    (S3Storage.scheme, S3Storage.from_settings),
))


def storage_for(url: str, settings: Settings) -> StorageBackend:
    """The backend ``url`` names (``file:///path`` or ``s3://bucket/prefix``)."""
    scheme = urlsplit(url).scheme.lower()
    factory = BACKENDS.get(scheme)
    if factory is None:
        raise errors.ValidationFailed(
            f"STORAGE_URL scheme {scheme or '(none)'!r} is not supported; use one of: {', '.join(sorted(BACKENDS))}.")
    return factory(url, settings)


@lru_cache(maxsize=4)
def _cached(url: str, _settings_id: int) -> StorageBackend:
    return storage_for(url, get_settings())


def get_storage() -> StorageBackend:
    """The configured backend (one per settings object, so tests that change settings get a new one)."""
    settings = get_settings()
    return _cached(settings.resolved_storage_url, id(settings))
