"""API load on loopback: authenticated reads and webhook runs, 1 and 2 replicas, beside a bare FastAPI endpoint.

Each replica is a uvicorn process serving the product's API (``dashboard.api.app:create_api``) on
PostgreSQL and Redis; the baseline is a bare FastAPI JSON endpoint (``bench/bare_api.py``)
served by the same number of uvicorn processes, measured by the same client in the same run. The
client is one asyncio process speaking HTTP/1.1 keep-alive over raw sockets (httpx would be the
bottleneck), spreading connections over the replicas.

* reads: ``--clients`` connections (default 50), each signed in, ``GET /api/v3/workflows`` in a loop;
* webhooks: ``--hook-clients`` connections (default 200) ``POST /api/v3/hooks/{token}`` of a 3-node
  workflow (input → template → output); ``--workers`` ``make worker`` processes execute the runs,
  and completed/s counts from the first accepted run to the last finished one.

PostgreSQL is a temporary database on 127.0.0.1:5432; Redis is a throwaway redis-server.

    .venv/bin/python bench/load.py --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))

import psycopg  # noqa: E402

from tests.infra import migrate, reachable, temporary_postgres_database  # noqa: E402
from tests.processes import free_port, redis_server, stop_process_group  # noqa: E402
from tests.worker_forks import WorkerForks, stop_worker  # noqa: E402

PASSWORD = "amber-falcon-lantern-42"
JWT_SECRET = "bench-load-secret-0123456789abcdefghijklmnop"


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read status and body (Content-Length only)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: str = "") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body or method == "POST" else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}{extra}\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


async def hammer(ports: list[int], clients: int, seconds: float, method: str, path: str, *, body: bytes = b"",
                 headers: str = "") -> dict[str, float]:
    """``clients`` connections sending the request in a loop for ``seconds``; rps, latency percentiles, errors."""
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        nonlocal errors
        connection = Connection(ports[n % len(ports)])
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, _ = await connection.request(method, path, body, headers)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                connection.close()
                await asyncio.sleep(0.01)
                continue
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors += 1
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    if statuses:
        print(f"  {method} {path[:40]}: error answers by status {statuses}", flush=True)
    return {"rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 0.5) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": errors, "requests": len(latencies)}


@contextlib.contextmanager
def servers(app: str, count: int, env: dict[str, str], logs: Path, *, factory: bool) -> Iterator[list[int]]:
    """``count`` uvicorn processes serving ``app``, each on its own port."""
    ports = [free_port() for _ in range(count)]
    processes = []
    for port in ports:
        command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
                   "--log-level", "warning", "--no-access-log", *(["--factory"] if factory else [])]
        log = (logs / f"{app.replace(':', '_')}-{port}.log").open("wb")
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    try:
        deadline = time.monotonic() + 90
        while not all(reachable("127.0.0.1", port) for port in ports):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"{app} did not start; see {logs}")
            time.sleep(0.1)
        yield ports
    finally:
        for process in processes:
            stop_process_group(process, grace_seconds=10)


async def sign_in(port: int) -> str:
    connection = Connection(port)
    account = json.dumps({"email": "load@example.com", "password": PASSWORD}).encode()
    await connection.request("POST", "/api/v3/auth/register", account)
    status, body = await connection.request("POST", "/api/v3/auth/login", account)
    assert status == 200, body
    token = json.loads(body)["access_token"]
    headers = f"Authorization: Bearer {token}\r\n"
    graph = {"nodes": [{"id": "in", "type": "input", "config": {"fields": []}},
                       {"id": "t", "type": "template", "config": {"template": "hello {{ params.n }}"}},
                       {"id": "out", "type": "output", "config": {"format": "markdown"}}],
             "edges": [{"source": "in", "target": "t"}, {"source": "t", "target": "out"}]}
    for n in range(20):  # a list worth reading
        status, body = await connection.request("POST", "/api/v3/workflows",
                                                json.dumps({"name": f"load {n}", "graph": graph}).encode(), headers)
        assert status == 201, body
    connection.close()
    return headers


async def webhook_token(port: int, headers: str) -> str:
    connection = Connection(port)
    status, body = await connection.request("POST", "/api/v3/workflows/1/webhooks", b"{}", headers)
    assert status == 201, body
    connection.close()
    return str(json.loads(body)["token"])


def run_counts(database_url: str) -> tuple[int, int, float | None, float | None]:
    """(runs, finished runs, first created, last finished) as epoch seconds."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*), count(finished_at), extract(epoch from min(created_at)), "
                           "extract(epoch from max(finished_at)) FROM runs").fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), row[2] and float(row[2]), row[3] and float(row[3])


def show(label: str, figures: dict[str, float]) -> None:
    print(f"{label:<38} {figures['rps']:>9.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms"
          f"  p99 {figures['p99_ms']:6.1f} ms  errors {figures['errors']:.0f}", flush=True)


async def bench(args: argparse.Namespace, database_url: str, redis_url: str, logs: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "JWT_SECRET": JWT_SECRET,
           "DWC_ENVIRONMENT": "production", "LOGIN_MAX_FAILURES": "1000000",
           # the benchmark measures what the stack can serve, not the per-user quotas in front of it
           "RATE_LIMIT_ENABLED": "false"}
    results: dict[str, dict[str, float]] = {}
    for replicas in (1, 2):
        with servers("bench.bare_api:app", replicas, env, logs, factory=False) as ports:
            await hammer(ports, args.clients, 1, "GET", "/bare")  # warm-up
            results[f"bare x{replicas}"] = await hammer(ports, args.clients, args.seconds, "GET", "/bare")
            show(f"bare FastAPI, {replicas} process(es)", results[f"bare x{replicas}"])
        with servers("dashboard.api.app:create_api", replicas, env, logs, factory=True) as ports:
            headers = await sign_in(ports[0])
            await hammer(ports, args.clients, 1, "GET", "/api/v3/workflows?limit=20", headers=headers)
            results[f"reads x{replicas}"] = await hammer(ports, args.clients, args.seconds, "GET",
                                                         "/api/v3/workflows?limit=20", headers=headers)
            show(f"GET /api/v3/workflows, {replicas} replica(s)", results[f"reads x{replicas}"])

    with servers("dashboard.api.app:create_api", 2, env, logs, factory=True) as ports, \
            WorkerForks(env, ROOT) as forks:
        headers = await sign_in(ports[0])
        token = await webhook_token(ports[0], headers)
        workers = [forks.spawn(logs / f"worker-{n}.log") for n in range(args.workers)]
        try:
            accepted = await hammer(ports, args.hook_clients, args.seconds, "POST", f"/api/v3/hooks/{token}",
                                    body=b'{"n": 1}')
            show("POST /api/v3/hooks/{token}, 2 replicas", accepted)
            deadline = time.monotonic() + args.drain_seconds
            while time.monotonic() < deadline:
                total, done, _first, _last = run_counts(database_url)
                if done >= total:
                    break
                await asyncio.sleep(0.5)
            total, done, first, last = run_counts(database_url)
            completed_per_s = done / (last - first) if first and last and last > first else 0.0
            print(f"runs: {total} accepted, {done} finished by {args.workers} workers "
                  f"({completed_per_s:.0f}/s from first accepted to last finished)")
        finally:
            for pid in workers:
                stop_worker(pid)

    reads = results["reads x2"] if results["reads x2"]["rps"] > results["reads x1"]["rps"] else results["reads x1"]
    errors = sum(r["errors"] for r in results.values()) + accepted["errors"] + (total - done)
    print(f"api_reads_rps={reads['rps']:.0f}")
    print(f"api_reads_p99_ms={reads['p99_ms']:.1f}")
    print(f"api_stack_ratio_vs_bare={results['bare x1']['rps'] / max(results['reads x1']['rps'], 1e-9):.2f}")
    print(f"webhook_runs_accepted_per_s={accepted['rps']:.0f}")
    print(f"webhook_runs_completed_per_s={completed_per_s:.0f}")
    print(f"load_errors={errors:.0f}")


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    with redis_server(port), temporary_postgres_database() as database_url, \
            tempfile.TemporaryDirectory(prefix="dwc-load-") as logs:
        migrate(database_url)
        await bench(args, database_url, f"redis://127.0.0.1:{port}/0", Path(logs))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured phase")
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections for reads")
    parser.add_argument("--hook-clients", type=int, default=200, help="concurrent connections for webhooks")
    parser.add_argument("--workers", type=int, default=2, help="`make worker` processes executing the runs")
    parser.add_argument("--drain-seconds", type=float, default=120, help="how long to wait for the runs to finish")
    asyncio.run(main(parser.parse_args()))
