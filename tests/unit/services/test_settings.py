"""Settings: the generated JWT secret and refused weak secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.settings import Settings


def test_jwt_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(DATA_DIR=tmp_path).signing_secret()
    second = Settings(DATA_DIR=tmp_path).signing_secret()
    assert first == second and len(first) >= 48
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_configured_secret_wins(tmp_path: Path) -> None:
    secret = "x" * 40
    assert Settings(DATA_DIR=tmp_path, JWT_SECRET=secret).signing_secret() == secret
    assert not (tmp_path / "jwt_secret").exists()


@pytest.mark.parametrize("weak", ["changeme", "short-secret"])
def test_weak_jwt_secret_is_refused(weak: str) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(JWT_SECRET=weak)


def test_prefixed_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWC_ACCESS_TOKEN_MINUTES", "7")
    assert Settings().access_token_minutes == 7


def test_embedded_default_is_sqlite_under_the_data_folder(tmp_path: Path) -> None:
    url = Settings(DATA_DIR=tmp_path, DATABASE_URL="").resolved_database_url
    assert url == f"sqlite:///{tmp_path.resolve() / 'dwc.db'}"
