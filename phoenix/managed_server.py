"""A local server that Phoenix starts once, records under PHOENIX_HOME, and every later process reuses.

Two servers work this way: Prefect's API server (`phoenix.prefect_server`) and Phoenix's own HTTP API
serving the CLI (`phoenix.daemon`).  Each is a detached process in its own session, so it outlives the
command that started it; its address lives in `<folder>/<name>.json`, its output in `<name>.log`, and
a file lock makes concurrent first commands start one server, not several.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import BaseModel, Field

from phoenix.errors import OperationFailed


class ServerRecord(BaseModel):
    pid: int
    port: int
    url: str
    started_at: float
    labels: dict[str, str] = Field(default_factory=dict)


def is_healthy(url: str, timeout_s: float = 2.0) -> bool:
    """Whether `url` answers 200 within `timeout_s` (a hung server is as bad as none)."""
    try:
        # trust_env=False: a loopback server is never reached through the user's HTTP proxy.
        return httpx.get(url, timeout=timeout_s, trust_env=False).status_code == 200
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError):
        return False


def pid_alive(pid: int) -> bool:
    try:
        # Reap it first if it is our own child that has exited, so it does not linger as a zombie.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ManagedServer:
    """One kind of background server of one PHOENIX_HOME."""

    def __init__(self, folder: Path, name: str, health_path: str, startup_timeout_s: float) -> None:
        self.folder = folder
        self.name = name
        self.health_path = health_path
        self.startup_timeout_s = startup_timeout_s

    @property
    def record_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    def read_record(self) -> ServerRecord | None:
        try:
            return ServerRecord.model_validate_json(self.record_path.read_text())
        except (OSError, ValueError):
            return None

    def running(self, timeout_s: float = 2.0) -> ServerRecord | None:
        """The recorded server, if its process is alive and it answers its health check."""
        record = self.read_record()
        if record and pid_alive(record.pid) and is_healthy(record.url + self.health_path, timeout_s):
            return record
        return None

    @contextmanager
    def start_lock(self) -> Iterator[None]:
        """One process at a time may start the server; the others wait, then reuse it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{self.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def start(
        self,
        argv_for_port: Callable[[int], list[str]],
        environment: dict[str, str],
        url_for_port: Callable[[int], str],
        labels: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ServerRecord:
        """Start the server detached, wait until it is healthy, and record it.

        `cwd` is where it runs: a server outlives the command that started it, so it should not
        keep (or import from) whatever folder that command happened to run in.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                argv_for_port(port),
                env=environment,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        record = ServerRecord(
            pid=process.pid,
            port=port,
            url=url_for_port(port),
            started_at=time.time(),
            labels=labels or {},
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while not is_healthy(record.url + self.health_path, timeout_s=1.0):
            if process.poll() is not None:
                raise OperationFailed(
                    f"The {self.name} server exited with status {process.returncode}; "
                    f"see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self._terminate(process.pid, grace_s=5.0)
                raise OperationFailed(f"The {self.name} server did not start; see {self.log_path}")
            time.sleep(0.1)
        self.write_record(record)
        return record

    def write_record(self, record: ServerRecord) -> None:
        """Replace the record atomically.  The temporary file is this process's own: a server that
        records itself (the forge) and the process that started it may write at the same moment."""
        temporary = self.record_path.with_name(f".{self.record_path.name}.{os.getpid()}.tmp")
        temporary.write_text(record.model_dump_json())
        temporary.replace(self.record_path)

    def stop(self, grace_s: float = 10.0) -> bool:
        """Stop the recorded server and its children; True if one was running."""
        record = self.read_record()
        self.record_path.unlink(missing_ok=True)
        if record is None or not pid_alive(record.pid):
            return False
        self._terminate(record.pid, grace_s)
        return True

    @staticmethod
    def _terminate(pid: int, grace_s: float) -> None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
