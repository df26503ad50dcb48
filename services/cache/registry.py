"""The cache backends, by the name ``CACHE_BACKEND`` uses: an explicit list, duplicates refused at import."""

from __future__ import annotations

from services import errors
from services.cache.base import CacheBackend
from services.cache.file import FileBackend
from services.cache.memory import MemoryBackend
from services.cache.redis_backend import RedisBackend
from services.cache.tiered import TieredBackend
from services.settings import Settings

_BACKENDS: dict[str, type[CacheBackend]] = {}


def register(backend: type[CacheBackend]) -> None:
    if backend.name in _BACKENDS:
        raise RuntimeError(f"Two cache backends are named {backend.name!r}: {_BACKENDS[backend.name]} and {backend}")
    _BACKENDS[backend.name] = backend


for _backend in (MemoryBackend, RedisBackend, FileBackend, TieredBackend):
    register(_backend)


def backend_names() -> list[str]:
    return list(_BACKENDS)


def build_backend(settings: Settings) -> CacheBackend:
    """The backend ``CACHE_BACKEND`` names, configured from ``settings``."""
    name = settings.resolved_cache_backend
    backend = _BACKENDS.get(name)
    if backend is None:
        raise errors.ValidationFailed(
            f"CACHE_BACKEND={name!r} is not a cache backend; choose one of {', '.join(_BACKENDS)}.",
            details={"field": "CACHE_BACKEND"})
    return backend.from_settings(settings)
