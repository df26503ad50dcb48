"""Schemathesis against the running API's ``/openapi.json``, signed in as an admin: every operation
gets generated requests, and none may answer 5xx or break its declared response schema."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.api.app import create_api
from services.settings import get_settings
from tests.processes import free_port

PASSWORD = "amber-falcon-lantern-42"
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "10"))  # bounded: CI time
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


class _ApiServer:
    """The real API app under uvicorn in a thread, on a migrated SQLite database of its own."""

    def __init__(self, database: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._saved = {name: os.environ.get(name) for name in ("DATABASE_URL", "REDIS_URL")}
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
        os.environ.pop("REDIS_URL", None)
        get_settings.cache_clear()
        self._server = uvicorn.Server(uvicorn.Config(create_api(), host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name="fuzz-api", daemon=True)

    def __enter__(self) -> _ApiServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def api_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_ApiServer]:
    database = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copy(sqlite_template, database)
    with _ApiServer(database) as server:
        yield server


@pytest.fixture(scope="module")
def admin_headers(api_server: _ApiServer) -> dict[str, str]:
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    created = requests.post(f"{api_server.url}/api/v3/auth/register", json={"email": email, "password": PASSWORD},
                            timeout=10)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "admin"
    login = requests.post(f"{api_server.url}/api/v3/auth/login", json={"email": email, "password": PASSWORD},
                          timeout=10)
    workflow = {"name": "fuzzed", "graph": {"nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}}],
                                            "edges": []}}
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert requests.post(f"{api_server.url}/api/v3/workflows", json=workflow, headers=headers,
                         timeout=10).status_code == 201  # something real for ids like 1 to find
    return headers


@pytest.fixture(scope="module")
def api_schema(api_server: _ApiServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api_server.url}/openapi.json")


def _fuzz(operation: Any, api_server: _ApiServer, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=api_server.url, headers=headers, checks=CHECKS, timeout=30)

    run()


def test_no_operation_answers_5xx_or_breaks_its_schema(api_schema: schemathesis.BaseSchema, api_server: _ApiServer,
                                                      admin_headers: dict[str, str]) -> None:
    # Schemathesis's own pytest plugin does not load under pytest 9 yet: drive each operation through Hypothesis here.
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40, "the schema lost its operations"
    for operation in operations:
        try:
            _fuzz(operation, api_server, admin_headers)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # collect every operation's failure (a FailureGroup), report them together
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, f"{len(failures)} of {len(operations)} operations failed:\n\n" + "\n\n".join(failures)
