"""The file backend shared by two processes: tagged writes made at the same moment from both land in
one tag index (none lost to the other's update), and one process's ``invalidate_tag`` removes them all
for the other."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import stop_process_group

KEYS_EACH = 60


class FileClient:
    """One process with its own ``FileBackend`` on the shared directory."""

    def __init__(self, directory: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.unit.services.cache.file_client",
                                         str(directory)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        start_new_session=True)
        assert self.answer() == "ready"

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        self.process.stdin.flush()

    def answer(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        assert line, "the cache process ended early"
        return line

    def ask(self, command: str) -> int:
        self.send(command)
        return int(json.loads(self.answer()))


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[FileClient, FileClient]]:
    first, second = FileClient(tmp_path / "cache"), FileClient(tmp_path / "cache")
    yield first, second
    for client in (first, second):
        stop_process_group(client.process, grace_seconds=5)


def test_one_process_invalidating_a_tag_removes_what_both_processes_filed_under_it(
        clients: tuple[FileClient, FileClient]) -> None:
    first, second = clients
    first.send(f"set a {KEYS_EACH} run:1")  # both processes write their tagged keys at the same moment
    second.send(f"set b {KEYS_EACH} run:1")
    assert (int(first.answer()), int(second.answer())) == (KEYS_EACH, KEYS_EACH)
    second.send(f"set c {KEYS_EACH} other")
    assert int(second.answer()) == KEYS_EACH
    assert first.ask(f"present b {KEYS_EACH}") == second.ask(f"present a {KEYS_EACH}") == KEYS_EACH

    assert first.ask("invalidate run:1") == 2 * KEYS_EACH  # the tag index kept every key of both writers
    assert second.ask(f"present a {KEYS_EACH}") == second.ask(f"present b {KEYS_EACH}") == 0
    assert first.ask(f"present a {KEYS_EACH}") == 0
    assert second.ask(f"present c {KEYS_EACH}") == KEYS_EACH  # another tag's entries stay
    assert second.ask("invalidate run:1") == 0
