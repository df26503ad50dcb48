"""Run worker processes (``make worker``: ``services.workflows.worker``) for tests on one database and one
Redis: started, made ready, stopped, killed with ``kill -9``, and their logs when something times out.

Shared by the integration, chaos and scale-out tests. Workers are forked from ``tests.worker_forks``
(the worker is imported once, then each worker is a fork: its own process group and connections).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.worker_forks import WorkerForks, alive, stop_worker

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class WorkerProcesses:
    """Workers on ``database_url`` and ``redis_url``; ``settings`` is the environment they all share."""

    database_url: str
    redis_url: str
    log_dir: Path
    settings: dict[str, str] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)
    _forks: WorkerForks | None = None

    def start_worker(self, **settings: str) -> int:
        """Start one more worker (``settings`` on top of the shared ones); its pid."""
        if self._forks is None:
            env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, **self.settings}
            self._forks = WorkerForks(env, ROOT)
        pid = self._forks.spawn(self._log(len(self.pids)), **settings)
        self.pids.append(pid)
        return pid

    def _log(self, n: int) -> Path:
        return self.log_dir / f"worker-{n}.log"

    def log_of(self, pid: int) -> str:
        return self._log(self.pids.index(pid)).read_text(errors="replace")

    def kill_9(self, pid: int) -> None:
        """``kill -9`` the worker's process group and wait until it is gone."""
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def stop_worker(self, pid: int, *, grace_seconds: float = 10) -> None:
        """SIGTERM (the worker hands its runs back), SIGKILL after the grace period."""
        stop_worker(pid, grace_seconds=grace_seconds)

    def ready_workers(self) -> int:
        """Live workers that finished starting (their log says so)."""
        return sum(1 for n, pid in enumerate(self.pids) if alive(pid)
                   and "ready (concurrency" in self._log(n).read_text(errors="replace"))

    async def wait_for_ready_workers(self, count: int, *, within: float = 60) -> None:
        async def enough() -> bool:
            return self.ready_workers() >= count

        await self.wait_for(enough, what=f"{count} workers to be ready", within=within)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-2500:]}"
                         for path in sorted(self.log_dir.glob("*.log")))

    async def wait_for(self, check: Callable[[], Awaitable[Any]], *, what: str, within: float = 30) -> Any:
        """Poll ``check`` until it returns something truthy; fail with the workers' logs after ``within`` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)
        pytest.fail(f"timed out after {within:g} s waiting for {what}\n{self.logs()}")

    def stop(self) -> None:
        """Stop every worker and the fork server."""
        for pid in self.pids:
            stop_worker(pid)
        if self._forks is not None:
            self._forks.close()
