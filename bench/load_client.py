"""The load generator of ``bench/load.py``: keep-alive HTTP/1.1 over raw sockets, on uvloop.

httpx would be the bottleneck, and the generator shares the two cores with what it measures, so
the less it costs the more the servers get (wrk measured the issue's floors). ``Client`` deals
connections out over ``processes`` asyncio processes and sums what they measured.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import uvloop


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


async def _hammer_here(ports: list[int], clients: range, seconds: float, method: str, path: str, body: bytes,
                       headers: str) -> tuple[list[float], int, dict[int, int]]:
    """Connections ``clients`` of the whole client sending the request in a loop: latencies, errors, statuses."""
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

    await asyncio.gather(*(client(n) for n in clients))
    return latencies, errors, statuses


def _hammer_in_process(*arguments: Any) -> tuple[list[float], int, dict[int, int]]:
    return uvloop.run(_hammer_here(*arguments))


class Client:
    """The load generator: ``processes`` asyncio processes, connections dealt out among them."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        # spawn, not fork: the parent has a running event loop and open sockets
        self.pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) \
            if processes > 1 else None

    async def hammer(self, ports: list[int], clients: int, seconds: float, method: str, path: str, *,
                     body: bytes = b"", headers: str = "") -> dict[str, float]:
        """``clients`` connections sending the request in a loop for ``seconds``; rps, latency percentiles, errors."""
        shares = [range(k, clients, self.processes) for k in range(self.processes)]
        started = time.monotonic()
        if self.pool is None:
            parts = [await _hammer_here(ports, shares[0], seconds, method, path, body, headers)]
        else:
            loop = asyncio.get_running_loop()
            parts = list(await asyncio.gather(*(
                loop.run_in_executor(self.pool, _hammer_in_process, ports, share, seconds, method, path, body, headers)
                for share in shares)))
        elapsed = time.monotonic() - started
        latencies = [value for part in parts for value in part[0]]
        statuses: dict[int, int] = {}
        for _latencies, _errors, part_statuses in parts:
            for status, count in part_statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        if statuses:
            print(f"  {method} {path[:40]}: error answers by status {statuses}", flush=True)
        return summary(latencies, elapsed, sum(part[1] for part in parts))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def summary(latencies: list[float], elapsed: float, errors: int) -> dict[str, float]:
    return {"rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 0.5) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": errors, "requests": len(latencies)}
