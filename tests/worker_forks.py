"""A fork server for run workers: import the worker once, then fork ready-to-run worker processes.

Importing the worker costs seconds of CPU (the AI SDKs); the chaos suite and ``bench/chaos.py``
kill workers hundreds of times, so they fork each new worker from a process that has already
imported everything, as gunicorn's ``preload_app`` does. Each child is a real, separate worker
process (its own session and process group, its own connections: nothing is opened before the
fork), running ``services.workflows.worker.main()``.

Protocol on stdin/stdout, one JSON object a line: ``{"log": path, "env": {...}}`` → ``{"pid": n}``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any


class WorkerForks:
    """Start with ``with WorkerForks(env) as forks:``; ``forks.spawn(log_path)`` returns a worker pid."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "tests.worker_forks"], cwd=cwd, env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)

    def spawn(self, log: Path, **env: str) -> int:
        assert self._process.stdin is not None and self._process.stdout is not None
        log.touch()
        self._process.stdin.write(json.dumps({"log": str(log), "env": env}).encode() + b"\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the worker fork server exited (code {self._process.poll()})")
        return int(json.loads(answer)["pid"])

    def close(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)

    def __enter__(self) -> WorkerForks:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def alive(pid: int) -> bool:
    """True while process ``pid`` exists (the fork server reaps its children as they die)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_worker(pid: int, *, grace_seconds: float = 10) -> None:
    """SIGTERM the worker's process group, SIGKILL it after the grace period."""
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


def _child(request: dict[str, Any], stdin: IO[bytes]) -> None:
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    stdin.close()
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.environ.update(request["env"])
    from services.settings import get_settings
    from services.workflows import worker

    get_settings.cache_clear()
    worker.main()


def serve() -> None:
    import services.workflows.worker  # noqa: F401  (the point: pay for the imports once)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they die
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    for line in stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(request, stdin)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        stdout.write(json.dumps({"pid": pid}).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    serve()
