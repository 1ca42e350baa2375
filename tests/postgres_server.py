"""A real PostgreSQL server for tests and benchmarks: a throwaway cluster on 127.0.0.1, a free port.

Debian's `postgresql` package puts its programs in /usr/lib/postgresql/<major>/bin, off PATH, so
they are found by globbing there (PATH is the fallback).  PostgreSQL refuses to run as root, so
when this process is root the cluster belongs to the `postgres` user and its programs run through
`runuser`; its folders are made under the system temporary folder, where that user can reach them.

Authentication is `trust` for the cluster's one user (`phoenix`) over 127.0.0.1 only: a test
never needs a password, and none ever appears in a connection string.

Use it as a pytest fixture (`postgres_server`, session-scoped: import it into the test module) and
`fresh_database(server)` for a database of a test's own, or directly as a context manager
(`with running_postgres() as server:`) from a benchmark.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "phoenix"
PROGRAMS = ("initdb", "pg_ctl", "postgres", "createdb")
START_TIMEOUT_S = 60


def find_postgres_bin() -> Path | None:
    """The folder holding initdb, pg_ctl, postgres and createdb (newest major first), or None."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if all((folder / program).is_file() for program in PROGRAMS):
            return folder
    on_path = shutil.which("initdb")
    if on_path and all(shutil.which(program) for program in PROGRAMS):
        return Path(on_path).resolve().parent
    return None


def require_postgres() -> Path:
    """The PostgreSQL programs' folder; skips the test without them (fails under CI=true)."""
    folder = find_postgres_bin()
    if folder is not None:
        return folder
    reason = (
        "needs PostgreSQL's server programs (initdb, pg_ctl, postgres, createdb) under "
        "/usr/lib/postgresql/*/bin or on PATH (Debian: apt-get install postgresql; .ci/run installs it)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster: connect over TCP to 127.0.0.1:`port` as `USER`, no password."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None  # the OS user that owns the cluster when we are root, else None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def conninfo(self, dbname: str) -> str:
        """A libpq keyword/value connection string for `dbname` (no password: trust auth)."""
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user={USER}"

    def store_url(self, dbname: str) -> str:
        """The PHOENIX_STORE_URL of a DuckLake whose catalog is the database `dbname`."""
        return f"ducklake:postgres:{self.conninfo(dbname)}"

    def run(self, program: str, *arguments: str, timeout: float = START_TIMEOUT_S) -> str:
        """Run one of the server's programs (as the cluster's owner); its stdout, or an error."""
        command = [str(self.bin_dir / program), *arguments]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root, check=False
        )
        if done.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(
                f"{program} exited {done.returncode}: {done.stderr.strip()}\n{log}".strip()
            )
        return done.stdout

    def create_database(self, name: str) -> str:
        """Create the database `name`; returns its name."""
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return name

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")


def _owner() -> str | None:
    """The user the cluster must run as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root needs the `postgres` user (Debian's postgresql package)")
    return "postgres"


def start_postgres(bin_dir: Path | None = None) -> PostgresServer:
    """Initialise a cluster in a new temporary folder and start it on a free port."""
    bin_dir = bin_dir or find_postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server programs are not installed (apt-get install postgresql)")
    owner = _owner()
    root = Path(tempfile.mkdtemp(prefix="phoenix-pg-"))
    if owner is not None:
        record = pwd.getpwnam(owner)
        os.chown(root, record.pw_uid, record.pw_gid)
    server = PostgresServer(bin_dir=bin_dir, root=root, port=0, run_as=owner)
    try:
        server.run("initdb", "-D", str(server.data_dir), "-A", "trust", "-U", USER, "-E", "UTF8")
        for _attempt in range(5):  # another program may take the free port before we bind it
            server.port = free_port()
            options = (
                f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c max_connections=200"
            )
            try:
                server.run(
                    "pg_ctl", "-D", str(server.data_dir), "-o", options, "-l",
                    str(server.log_path), "-w", "-t", str(START_TIMEOUT_S), "start",
                )  # fmt: skip
                return server
            except RuntimeError as error:
                if "already in use" not in str(error) and "could not bind" not in str(error):
                    raise
        raise RuntimeError("PostgreSQL found no free port in five attempts")
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise


@contextlib.contextmanager
def running_postgres(bin_dir: Path | None = None) -> Iterator[PostgresServer]:
    """A started cluster for the duration of the block; stopped and deleted after."""
    server = start_postgres(bin_dir)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def fresh_database(server: PostgresServer, prefix: str = "lake") -> str:
    """A new, empty database on `server` (a DuckLake catalog nobody has used yet)."""
    return server.create_database(f"{prefix}_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the test session (skips without PostgreSQL, fails under CI)."""
    bin_dir = require_postgres()
    with running_postgres(bin_dir) as server:
        yield server
