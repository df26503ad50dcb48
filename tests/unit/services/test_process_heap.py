"""The API's start-up freezes the heap once: later full collections skip the long-lived objects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_SCRIPT = """
import asyncio, gc
from dashboard.api.app import create_api
from services.process_heap import YOUNG_THRESHOLD, settle_heap

api = create_api()
before = gc.get_freeze_count()

async def start_and_stop():
    async with api.router.lifespan_context(api):
        pass

asyncio.run(start_and_stop())
frozen = gc.get_freeze_count()
settle_heap()  # a second call (the Reflex lifespan task and the API's own) changes nothing
print(before, frozen > 100_000, gc.get_freeze_count() == frozen, gc.get_threshold()[0] == YOUNG_THRESHOLD)
"""


def test_starting_the_api_freezes_the_start_up_heap_once() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True", "True", "True"]


def test_the_reflex_app_settles_its_heap_at_start() -> None:
    script = ("from dashboard.dashboard import app\n"
              "from dashboard.lifespan import settle_heap_at_start\n"
              "print(settle_heap_at_start in app.get_lifespan_tasks())\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "True"
