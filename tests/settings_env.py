"""Setting environment-backed settings for one test: clear a group, then set what the test needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial

import pytest

from services.settings import get_settings

SetEnv = Callable[..., None]


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Set ``values`` as environment variables for this test and re-read the settings."""
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def settings_env(monkeypatch: pytest.MonkeyPatch, names: Iterable[str]) -> Iterator[SetEnv]:
    """Fixture body: ``names`` unset (also with the DWC_ prefix), then a setter; settings re-read around it."""
    for name in names:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"DWC_{name}", raising=False)
    get_settings.cache_clear()
    yield partial(configure, monkeypatch)
    get_settings.cache_clear()
