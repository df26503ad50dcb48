"""Time from `make run` to the first 200 on /health: cold (fresh clone) and warm (second start).

Baseline, measured in the same run: a bare FastAPI app under uvicorn answering /health, the
floor any Python web process pays on this machine.

    .venv/bin/python bench/startup.py --warm-runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import free_port, stop_process_group  # noqa: E402

BASELINE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/health")
def health():
    return {"status": "ok"}
"""


def time_to_health(command: list[str], cwd: Path, port: int, env: dict[str, str], timeout: float,
                   page: str = "") -> float:
    """Seconds from launching ``command`` to a 200 on /health (and on ``page``, when given)."""
    started = time.perf_counter()
    log = (cwd / f"bench-{port}.log").open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                sys.exit(f"{' '.join(command)} exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200 and (
                        not page or httpx.get(f"http://127.0.0.1:{port}{page}", timeout=5,
                                              follow_redirects=True).status_code == 200):
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        sys.exit(f"no answer on /health within {timeout} s")
    finally:
        stop_process_group(process, grace_seconds=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="dwc-bench-startup-"))
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV")}

    baseline_dir = workdir / "baseline"
    baseline_dir.mkdir()
    (baseline_dir / "app.py").write_text(BASELINE_APP)
    baselines = [time_to_health([str(ROOT / ".venv/bin/uvicorn"), "app:app", "--port", str(port := free_port())],
                                baseline_dir, port, env, args.timeout) for _ in range(args.warm_runs)]

    def make_run(page: str = "") -> float:
        port = free_port()
        return time_to_health(["make", "run"], clone, port, {**env, "PORT": str(port)}, args.timeout, page)

    cold = make_run()
    warm = [make_run() for _ in range(args.warm_runs)]
    warm_page = [make_run("/login") for _ in range(args.warm_runs)]

    print(f"baseline runs (bare FastAPI + uvicorn): {[round(b, 2) for b in baselines]}")
    print(f"warm runs: {[round(w, 2) for w in warm]}")
    print(f"baseline_start_s={statistics.median(baselines):.2f}")
    print(f"cold_start_s={cold:.1f}")
    print(f"warm_start_s={statistics.median(warm):.1f}")
    print(f"warm_start_to_login_page_s={statistics.median(warm_page):.1f}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
