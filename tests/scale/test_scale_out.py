"""Scale-out, proven on one machine: two Reflex replicas and two worker processes on one PostgreSQL
database and one Redis database, as the README's deployment runs them.

Replica B is `make run`'s production server (it builds the pages, which point at its own port);
replica A is a second backend started with ``--backend-only`` (API and websocket, no second build),
as a replica behind a proxy would be. Runs and a notification go in through A's API (and B's, for
half the runs); a browser signed in on B must see the run's step events and the notification live.

Its own package, after ``tests/e2e`` in ``testpaths``: its build rewrites ``.web`` for B's port, which
would break the e2e server if both ran at once.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import STARTUP_SECONDS, checked_page, chromium, sign_in
from tests.fakes.http_peers import RecordingHTTPServer
from tests.infra import REDIS_TEST_URL, migrate, require_server, temporary_postgres_database
from tests.processes import app_start_failure, free_port, start_prod_app, stop_process_group
from tests.workers import WorkerProcesses

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]
RUNS = 100
ADMIN = ("admin@scale.example.com", "violet-harbour-compass-19")
MEMBER_PASSWORD = "amber-falcon-lantern-42"
STEP_SECONDS = 3.0  # a step the page on B sees running


@dataclass
class ScaleOut:
    replica_a: str
    replica_b: str
    database_url: str
    workers: WorkerProcesses
    logs: Path
    receiver: RecordingHTTPServer

    def api(self, replica: str) -> httpx.Client:
        """An API client on ``replica``, signed in there as the admin."""
        pair = httpx.post(f"{replica}/api/v3/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]},
                          timeout=30)
        assert pair.status_code == 200, pair.text
        return httpx.Client(base_url=f"{replica}/api/v3", timeout=60,
                            headers={"Authorization": f"Bearer {pair.json()['access_token']}"})

    def all_logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.logs.glob("*.log")))


@pytest.fixture(scope="module")
def scale_out(request: pytest.FixtureRequest) -> Iterator[ScaleOut]:
    """Replicas A and B, two workers, a loopback HTTP receiver for the runs' requests; all stopped after."""
    require_server("Redis", "127.0.0.1", 6379)
    flushable = redis.Redis.from_url(REDIS_TEST_URL)
    flushable.flushdb()
    logs = Path(tempfile.mkdtemp(prefix="dwc-scale-"))
    servers: list[subprocess.Popen[bytes]] = []
    with temporary_postgres_database() as database_url, RecordingHTTPServer() as receiver:
        migrate(database_url)  # once, before either replica's `alembic upgrade head` (then a no-op)
        shared = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_TEST_URL, "DWC_DATA_DIR": str(logs / "data"),
                  "JWT_SECRET": "scale-out-test-secret-Zq83-Lm47-Wt19-Ce62", "OUTBOUND_ALLOWLIST": "127.0.0.1"}
        # One backend process per replica: the replicas are what is under test (Reflex would start 2 x cores + 1).
        env = {**os.environ, **shared, "PYTHONUNBUFFERED": "1", "GRANIAN_WORKERS": "1"}
        workers = WorkerProcesses(database_url=database_url, redis_url=REDIS_TEST_URL, log_dir=logs,
                                  settings={**shared, "WORKER_CONCURRENCY": "8"})
        port_a, port_b = free_port(), free_port()
        try:
            # Each replica empties its disk-state folder as it starts: their own, or the two race over one.
            replica_b = start_prod_app(port_b, {**env, "REFLEX_STATES_WORKDIR": str(logs / "states-b")},
                                       logs / "replica-b.log")
            servers.append(replica_b)
            replica_a = start_prod_app(port_a, {**env, "REFLEX_STATES_WORKDIR": str(logs / "states-a")},
                                       logs / "replica-a.log", backend_only=True)
            servers.append(replica_a)
            workers.start_worker()
            workers.start_worker()
            setup = ScaleOut(f"http://localhost:{port_a}", f"http://localhost:{port_b}", database_url, workers,
                             logs, receiver)
            for url, server, log, pages in ((setup.replica_a, replica_a, "replica-a.log", False),
                                            (setup.replica_b, replica_b, "replica-b.log", True)):
                failure = app_start_failure(url, server, STARTUP_SECONDS, logs / log, pages=pages)
                if failure:
                    pytest.fail(failure)
            _wait(lambda: workers.ready_workers() == 2, "2 workers to be ready", setup)
            created = httpx.post(f"{setup.replica_a}/api/v3/auth/register", timeout=30,
                                 json={"email": ADMIN[0], "password": ADMIN[1], "full_name": "Scale Admin"})
            assert created.status_code == 201 and created.json()["role"] == "admin", created.text
            yield setup
        finally:
            workers.stop()
            for server in servers:
                stop_process_group(server)
            flushable.flushdb()
            flushable.close()
            if request.session.testsfailed:
                print(f"\nthe scale-out processes' logs are kept in {logs}")
            else:
                shutil.rmtree(logs, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _wait(check: Any, what: str, setup: ScaleOut, *, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {within:g} s waiting for {what}\n{setup.all_logs()}\n{setup.workers.logs()}")


def _chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    placed = [{**node, "position": {"x": 260 * n, "y": 0}} for n, node in enumerate(nodes)]
    return {"nodes": placed, "edges": [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)]}


def _create_workflow(api: httpx.Client, graph: dict[str, Any]) -> int:
    created = api.post("/workflows", json={"name": f"Scale {uuid.uuid4().hex[:6]}", "graph": graph})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _execute(api: httpx.Client, workflow_id: int, **parameters: str) -> str:
    started = api.post(f"/workflows/{workflow_id}/execute", json={"parameters": parameters})
    assert started.status_code == 202, started.text
    return str(started.json()["run_id"])


def _rows(database_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def test_a_hundred_runs_through_both_replicas_each_finish_exactly_once(scale_out: ScaleOut) -> None:
    graph = _chain({"id": "in", "type": "input", "config": {"fields": ["topic"]}},
                   {"id": "call", "type": "http_request", "config": {
                       "method": "POST", "url": scale_out.receiver.url("/runs"), "body": "{{ in.topic }}"}},
                   {"id": "out", "type": "template", "config": {"template": "done: {{ in.topic }}"}})
    with scale_out.api(scale_out.replica_a) as on_a, scale_out.api(scale_out.replica_b) as on_b:
        workflow_id = _create_workflow(on_a, graph)
        run_ids = [_execute(on_a if n % 2 == 0 else on_b, workflow_id, topic=f"topic-{n}") for n in range(RUNS)]

    def all_finished() -> bool:
        [(unfinished,)] = _rows(scale_out.database_url, "SELECT count(*) FROM runs WHERE status IN "
                                                        "('queued', 'running')")
        return unfinished == 0

    _wait(all_finished, f"{RUNS} runs to finish", scale_out, within=120)
    runs = {str(run_id): (status, claims, error) for run_id, status, claims, error in _rows(
        scale_out.database_url, "SELECT id, status, claims, error FROM runs")}
    assert set(runs) == set(run_ids)
    assert {(status, claims) for status, claims, _ in runs.values()} == {("succeeded", 1)}, (  # claimed once each
        {error for _, _, error in runs.values()})
    steps = _rows(scale_out.database_url, "SELECT run_id, node_id, status, attempt, output FROM steps")
    assert len(steps) == 3 * RUNS
    assert {(status, attempt) for _, _, status, attempt, _ in steps} == {("succeeded", 1)}
    outputs = {str(run_id): output["content"] for run_id, node_id, _, _, output in steps if node_id == "out"}
    assert sorted(outputs.values()) == sorted(f"done: topic-{n}" for n in range(RUNS))
    # The HTTP step is the side effect a second execution would repeat: the receiver saw each topic once.
    topics = sorted(request.body.decode() for request in scale_out.receiver.requests)
    assert topics == sorted(f"topic-{n}" for n in range(RUNS))


def _step_row(page: Page, node_id: str) -> Any:
    return page.get_by_role("region", name="Steps").get_by_role("row").filter(
        has=page.get_by_role("button", name=f"Details of {node_id}"))


def test_step_events_of_a_run_started_on_a_reach_a_browser_on_b(scale_out: ScaleOut, browser: Browser) -> None:
    graph = _chain({"id": "in", "type": "input", "config": {"fields": ["topic"]}},
                   {"id": "review", "type": "human_approval", "config": {}},
                   {"id": "d1", "type": "delay", "config": {"seconds": STEP_SECONDS}},
                   {"id": "d2", "type": "delay", "config": {"seconds": STEP_SECONDS}},
                   {"id": "out", "type": "template", "config": {"template": "done: {{ in.topic }}"}})
    with scale_out.api(scale_out.replica_a) as on_a, checked_page(browser, scale_out.replica_b) as page:
        workflow_id = _create_workflow(on_a, graph)
        run_id = _execute(on_a, workflow_id, topic="herons")
        _wait(lambda: on_a.get(f"/runs/{run_id}").json()["status"] == "waiting", "the run to wait for approval",
              scale_out)
        # The page on B is open and following the run before the run goes on (however slow the page is).
        sign_in(page, *ADMIN)
        page.goto(f"/runs/{run_id}")
        expect(page.locator("#run-status")).to_have_text("waiting")
        page.evaluate("window.loadedOnce = true")  # gone if the page reloads
        approved = on_a.post(f"/runs/{run_id}/approve", json={"comment": "go on"})
        assert approved.status_code == 200, approved.text
        # A step shows `running` only through its events: the database records a step once it has finished.
        expect(_step_row(page, "d2")).to_contain_text("running", timeout=3 * STEP_SECONDS * 1000)
        expect(_step_row(page, "d1")).to_contain_text("succeeded")
        expect(page.locator("#run-status")).to_have_text("succeeded", timeout=3 * STEP_SECONDS * 1000)
        for node_id in ("in", "review", "d1", "d2", "out"):
            expect(_step_row(page, node_id)).to_contain_text("succeeded")
        assert page.evaluate("window.loadedOnce === true")  # never reloaded


def test_a_notification_sent_through_a_appears_live_on_b(scale_out: ScaleOut, browser: Browser) -> None:
    member = f"member-{uuid.uuid4().hex[:8]}@example.com"
    created = httpx.post(f"{scale_out.replica_a}/api/v3/auth/register", timeout=30,
                         json={"email": member, "password": MEMBER_PASSWORD})
    assert created.status_code == 201, created.text
    with checked_page(browser, scale_out.replica_b) as page:
        sign_in(page, member, MEMBER_PASSWORD)
        page.goto("/inbox")
        expect(page.locator("#bell")).to_have_attribute("data-live", "true")  # B's watcher is subscribed
        page.evaluate("window.loadedOnce = true")
        bell = page.get_by_role("button", name=re.compile(r"^Notifications, "))
        expect(bell).to_have_accessible_name("Notifications, none unread")
        subject = f"Replica A says hello {uuid.uuid4().hex[:6]}"
        with scale_out.api(scale_out.replica_a) as on_a:
            sent = on_a.post("/advanced/notifications/send", json={
                "channel": "in_app", "recipient": member, "subject": subject, "message": "Sent through replica A."})
        assert sent.status_code == 202, sent.text
        expect(bell).to_have_accessible_name("Notifications, 1 unread")
        item = page.get_by_role("list", name="Notifications").get_by_role("listitem").filter(has_text=subject)
        expect(item).to_contain_text("Sent through replica A.")
        assert page.evaluate("window.loadedOnce === true")
