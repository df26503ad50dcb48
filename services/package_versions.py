"""Versions of the installed libraries the product talks through (shown on the Services page)."""

from __future__ import annotations

from functools import cache
from importlib import metadata


@cache
def package_version(distribution: str) -> str:
    """``"<distribution> <version>"`` of an installed distribution, or ``""`` when it is not installed."""
    try:
        return f"{distribution} {metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return ""
