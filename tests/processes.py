"""Starting and stopping servers that tests and benchmarks launch as their own process groups."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(process: subprocess.Popen[bytes], *, grace_seconds: float = 20) -> None:
    """SIGTERM the whole group (reflex starts children), then SIGKILL whatever outlives the grace."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A throwaway ``redis-server`` on ``port`` (no persistence), stopped on exit."""
    from tests.infra import reachable

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", port):
            assert process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not start within 10 s"
            time.sleep(0.02)
        yield process
    finally:
        stop_process_group(process, grace_seconds=5)


def start_prod_app(port: int, env: dict[str, str], log_path: Path, *,
                   backend_only: bool = False) -> subprocess.Popen[bytes]:
    """`reflex run --env prod` on ``port`` with the same toolchain and migrations as `make run`.

    It builds the frontend (``.web``) and serves it beside the backend; the build points the pages at
    this port. ``backend_only`` starts one more backend replica without building: it serves the
    API and the websocket, not the pages, so it can start while another replica's build runs.
    """
    serve = (f"--backend-only --backend-port {port}" if backend_only
             else f"--frontend-port {port} --backend-port {port}")
    command = (f"source scripts/env.sh && alembic upgrade head && exec reflex run --env prod {serve} "
               f"--loglevel warning")
    with log_path.open("wb") as log:
        return subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def app_start_failure(url: str, server: subprocess.Popen[bytes], timeout: float, log_path: Path, *,
                      pages: bool = True) -> str | None:
    """Wait until the app answers ``/health`` (and its login page, with ``pages``); why it did not, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return f"the app exited with {server.returncode}:\n{log_path.read_text()[-4000:]}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200 and (not pages or httpx.get(
                    f"{url}/login", timeout=5, follow_redirects=True).status_code == 200):
                return None
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return f"the app did not answer within {timeout} s:\n{log_path.read_text()[-4000:]}"
