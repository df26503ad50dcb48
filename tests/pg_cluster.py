"""A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl`` in a temp dir, on a free port) that a
test may stop and restart at will; the shared server on 5432 is never touched."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.processes import free_port


class PostgresCluster:
    def __init__(self, directory: Path, port: int, binaries: Path, user: str | None) -> None:
        self.directory, self.port, self.binaries, self.user = directory, port, binaries, user
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-l", str(self.directory / "server.log"), "-w",
                  "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start a cluster (trust auth, user ``postgres``) and remove it afterwards."""
    binaries = _binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    directory = Path(tempfile.mkdtemp(prefix="dwc-pg-"))
    if user:
        record = pwd.getpwnam(user)
        os.chown(directory, record.pw_uid, record.pw_gid)
    cluster = PostgresCluster(directory, free_port(), binaries, user)
    try:
        cluster._run("initdb", "-D", str(directory / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(directory, ignore_errors=True)
