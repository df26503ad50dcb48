"""JSON from PostgreSQL parses as ``json.loads`` would parse it (psycopg's loader is pydantic-core's parser)."""

from __future__ import annotations

import json

import psycopg
import pytest

import services.db  # noqa: F401  (installs the loader)

pytestmark = pytest.mark.postgres

TEXTS = ['{"a": 1, "a": 2}', "[12345678901234567890123456789]", "-0", "0.1", "1e-320", "123456789.123456789e-5",
         '{"x": 1.5, "y": [true, null, "\\u00e9\\n"], "z": {}}', '"\\ud800"', "[]", '"plain"']


@pytest.mark.parametrize("kind", ["json", "jsonb"])
def test_values_parse_as_json_loads_parses_them(postgres_url: str, kind: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        for source in TEXTS:
            if kind == "jsonb" and "ud800" in source:
                continue  # jsonb refuses a lone surrogate; json keeps the text as it is
            stored = conn.execute(f"SELECT %s::{kind}, %s::{kind}::text", (source, source)).fetchone()
            assert stored is not None
            assert stored[0] == json.loads(stored[1]), source
