"""A Prefect API server that Phoenix starts once and every later process reuses.

With no `PREFECT_API_URL`, each new Python process would start Prefect's ephemeral server — 5 to 12 s
per `phoenix` command (DESIGN.md §4).  Instead the first command starts `prefect server start` in the
background (saying so on stderr), records its address under `PHOENIX_HOME/prefect/server.json`, and
leaves it running; later commands find it there and pay nothing.  Because it is Prefect's real server,
the UI at the same address shows every run.  A `PREFECT_API_URL` set by the user always wins.

This module must not import Prefect: it runs before Prefect's settings are fixed.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from phoenix.errors import OperationFailed
from phoenix.settings import PhoenixSettings

STARTUP_TIMEOUT_S = 120.0


class ServerRecord(BaseModel):
    pid: int
    port: int
    api_url: str
    started_at: float


def prefect_environment(settings: PhoenixSettings) -> dict[str, str]:
    """Prefect settings Phoenix wants in every process, unless the user chose otherwise."""
    return {
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


def configure_environment(settings: PhoenixSettings) -> None:
    """Set Phoenix's Prefect defaults in this process's environment (before Prefect is imported)."""
    for name, value in prefect_environment(settings).items():
        os.environ.setdefault(name, value)


def _record_path(settings: PhoenixSettings) -> Path:
    return settings.prefect_home / "server.json"


def is_healthy(api_url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout_s) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_record(settings: PhoenixSettings) -> ServerRecord | None:
    try:
        return ServerRecord.model_validate_json(_record_path(settings).read_text())
    except (OSError, ValueError):
        return None


def running_server(settings: PhoenixSettings) -> ServerRecord | None:
    """The recorded server, if it is alive and answering."""
    record = read_record(settings)
    if record and _pid_alive(record.pid) and is_healthy(record.api_url):
        return record
    return None


@contextmanager
def _start_lock(settings: PhoenixSettings) -> Iterator[None]:
    """One process at a time may start the server; the others wait and then reuse it."""
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    with open(settings.prefect_home / "server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(settings: PhoenixSettings, port: int | None = None) -> ServerRecord:
    """Start `prefect server start` in its own session and wait until it is healthy."""
    port = port or _free_port()
    environment = dict(os.environ) | prefect_environment(settings)
    environment.pop("PREFECT_API_URL", None)
    log_path = settings.prefect_home / "server.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    record = ServerRecord(
        pid=process.pid, port=port, api_url=f"http://127.0.0.1:{port}/api", started_at=time.time()
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not is_healthy(record.api_url, timeout_s=1.0):
        if process.poll() is not None:
            raise OperationFailed(
                f"Prefect's server exited with status {process.returncode}; see {log_path}"
            )
        if time.monotonic() > deadline:
            process.terminate()
            raise OperationFailed(f"Prefect's server did not start in time; see {log_path}")
        time.sleep(0.2)
    _record_path(settings).write_text(record.model_dump_json())
    return record


def ensure_prefect_api(settings: PhoenixSettings, announce: bool = True) -> str:
    """The API URL of a running Prefect server, starting Phoenix's own one if needed.

    Also sets `PREFECT_API_URL` in this process's environment so that Prefect, imported afterwards,
    talks to it.
    """
    configure_environment(settings)
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    record = running_server(settings)
    if record is None:
        with _start_lock(settings):
            record = running_server(settings)
            if record is None:
                if announce:
                    print(
                        "phoenix: starting a local Prefect server (once; it keeps running for "
                        f"later commands, UI and logs under {settings.prefect_home}) ...",
                        file=sys.stderr,
                        flush=True,
                    )
                record = start_server(settings)
                if announce:
                    ui = record.api_url.removesuffix("/api")
                    print(f"phoenix: Prefect server ready at {ui}", file=sys.stderr, flush=True)
    os.environ["PREFECT_API_URL"] = record.api_url
    return record.api_url


def stop_server(settings: PhoenixSettings, grace_s: float = 10.0) -> bool:
    """Stop Phoenix's own server (not one the user runs); True if one was running."""
    record = read_record(settings)
    if record is None or not _pid_alive(record.pid):
        _record_path(settings).unlink(missing_ok=True)
        return False
    os.killpg(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while _pid_alive(record.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _pid_alive(record.pid):
        os.killpg(record.pid, signal.SIGKILL)
    _record_path(settings).unlink(missing_ok=True)
    return True
