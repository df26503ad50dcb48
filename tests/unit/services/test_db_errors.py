"""A database error's text leaves out the statement's parameters: it is logged, and they may be secrets."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from services.db import create_engine_for, create_sync_engine_for

SECRET = "sk-live-parameter-Zq81"


async def test_an_async_engine_error_names_the_statement_not_its_parameters(database_url: str) -> None:
    engine = create_engine_for(database_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(exc.DBAPIError) as raised:
                await conn.execute(text("INSERT INTO no_such_table (secret) VALUES (:secret)"), {"secret": SECRET})
    finally:
        await engine.dispose()
    assert "no_such_table" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_a_sync_engine_error_names_the_statement_not_its_parameters(database_url: str) -> None:
    engine = create_sync_engine_for(database_url)
    try:
        with engine.connect() as conn, pytest.raises(exc.DBAPIError) as raised:
            conn.execute(text("INSERT INTO no_such_table (secret) VALUES (:secret)"), {"secret": SECRET})
    finally:
        engine.dispose()
    assert "no_such_table" in str(raised.value)
    assert SECRET not in str(raised.value)
