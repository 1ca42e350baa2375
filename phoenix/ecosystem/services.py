"""Supervised services: start a repository's server, tell whether it still runs, stop it and its tree.

Pure process management (Linux, it reads /proc) — no Prefect, no DuckDB: flows persist what
`start_service` returns and pass it back on every read, so a status is reconciled with the operating
system, never remembered.  Why it is built this way:

* **Outliving the starter.**  The CLI exits right after starting a service, so the service gets a
  session of its own (`start_new_session=True`: no controlling terminal, no SIGHUP from the starter's),
  stdin from /dev/null and its output appended to a log.  When the starter exits it is reparented to
  init, which reaps it; nothing depends on the starter staying alive.
* **No zombies in a long-lived caller** (a worker, the API) that never waits: each `Popen` gets a
  daemon thread blocked in `wait()`, which reaps it the moment it ends.  A double fork would save that
  idle thread but hide the pid behind a pipe handshake.
* **Exit codes that survive Phoenix.**  Only a parent can wait for a status, and the parent is usually
  gone; so the command runs under `_supervise`, the group leader, which starts it as its child in the
  same group, forwards SIGTERM/SIGINT/SIGHUP to the group once, waits, writes
  `{"pid", "exit_code", "stopped"}` atomically to `<log>.exit` and exits with the same code.  It runs
  as `python -I -S -c <its own source>`: stdlib only (about 11 MB), and isolated, so a `json.py` in the
  repository cannot shadow the stdlib.
* **Pid reuse.**  A pid counts only with its start time (field 22 of /proc/<pid>/stat).
* **No orphans.**  Stop signals the whole group and SIGKILLs it after a grace period; only a process
  that deliberately left the group (setsid) escapes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from phoenix.errors import BadInput, Conflict, OperationFailed
from phoenix.managed_server import free_port as free_port  # re-exported for callers of $PORT

POLL_S = 0.05
_PORT_REF = re.compile(r"\$\{PORT\}|\$PORT(?![A-Za-z0-9_])")


class ServiceStartFailed(OperationFailed):
    """The service could not be started: its program or folder does not exist or cannot run."""


class ServiceAlreadyRunning(Conflict):
    """Starting a service that is still running (a 409 for the API, exit status 1 for the CLI)."""


class ServiceProcess(BaseModel):
    """What a flow persists about a started service; enough to reconcile and stop it later."""

    pid: int
    pgid: int
    port: int
    started_at: float
    start_ticks: int | None
    argv: list[str]
    log_path: Path


class ServiceState(BaseModel):
    """Stopped: ended after `stop_service` asked it to; Exited: ended on its own (or unknown how)."""

    status: Literal["Running", "Exited", "Stopped"]
    exit_code: int | None = None


def _supervise(exit_file: str, argv: list[str]) -> int:
    """The group leader above the command; runs alone in `python -I -S -c`, so stdlib imports only."""
    import json
    import os
    import signal
    import subprocess
    import sys

    child: subprocess.Popen[bytes] | None = None
    requested: list[int] = []  # the stop signal we were sent, if any
    forwarded = False

    def forward() -> None:
        nonlocal forwarded
        if requested and child is not None and not forwarded:
            forwarded = True  # set first: the group signal reaches this process as well
            os.killpg(os.getpgid(0), requested[0])

    def on_signal(signum: int, frame: object) -> None:
        if not requested:
            requested.append(signum)
        forward()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        child = subprocess.Popen(argv)  # same cwd, env, stdio and process group as this one
    except OSError as exc:
        print(f"phoenix: cannot start {argv[0]}: {exc}", file=sys.stderr, flush=True)
        code = 126 if isinstance(exc, PermissionError) else 127
    else:
        forward()  # a stop that arrived while the child was being started
        returncode = child.wait()
        code = 128 - returncode if returncode < 0 else returncode  # killed by N → 128+N, as shells say
    print(f"phoenix: service exited with code {code}", file=sys.stderr, flush=True)
    record = {"pid": os.getpid(), "exit_code": code, "stopped": bool(requested)}
    partial = f"{exit_file}.{os.getpid()}.tmp"
    with open(partial, "w") as handle:
        handle.write(json.dumps(record))
    os.replace(partial, exit_file)
    return code


@functools.cache
def _supervisor_code() -> str:
    call = "import sys\nsys.exit(_supervise(sys.argv[1], sys.argv[2:]))\n"
    return "from __future__ import annotations\n" + inspect.getsource(_supervise) + call


def exit_file_for(log_path: Path) -> Path:
    """Where the supervisor of the service logging to `log_path` records how it ended."""
    return log_path.with_name(log_path.name + ".exit")


def substitute_port(argv: list[str], port: int) -> list[str]:
    """Replace `$PORT` and `${PORT}` in each argument (Procfiles write them; no shell expands them)."""
    return [_PORT_REF.sub(str(port), arg) for arg in argv]


def _resolve_program(program: str, cwd: Path, path: str | None) -> str:
    if "/" in program:
        candidate = cwd / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.resolve())
        raise ServiceStartFailed(f"{program} does not exist in {cwd} or is not executable")
    found = shutil.which(program, path=path)
    if found is None:
        raise ServiceStartFailed(f"{program} is not installed (not found on PATH)")
    return found


def start_service(
    argv: list[str],
    cwd: Path,
    log_path: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> ServiceProcess:
    """Start `argv` (never through a shell) as a supervised service listening on `$PORT`.

    Args:
        env: variables added to this process's environment (the service needs PATH, HOME ...).
        port: the port to give it; a free one on 127.0.0.1 when omitted.
    """
    if not argv or not argv[0]:
        raise BadInput("a service needs a command to run")
    if not cwd.is_dir():
        raise ServiceStartFailed(f"the service's folder {cwd} does not exist")
    port = port if port is not None else free_port()
    argv = substitute_port(argv, port)
    environment = {**os.environ, **(env or {}), "PORT": str(port)}
    program = _resolve_program(argv[0], cwd, environment.get("PATH"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    exit_file = exit_file_for(log_path)
    exit_file.unlink(missing_ok=True)  # a record left by the previous run would be read as this one's
    command = [sys.executable, "-I", "-S", "-c", _supervisor_code(), str(exit_file), program, *argv[1:]]
    with log_path.open("ab") as log:
        log.write(f"phoenix: starting {argv} on port {port}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServiceStartFailed(f"could not start {argv[0]}: {exc}") from exc
    stat = _proc_stat(process.pid)  # read before the reaper can make the pid disappear
    threading.Thread(target=process.wait, name=f"reap-service-{process.pid}", daemon=True).start()
    return ServiceProcess(
        pid=process.pid,
        pgid=process.pid,  # a new session's leader leads its process group too
        port=port,
        started_at=time.time(),
        start_ticks=stat[2] if stat else None,
        argv=argv,
        log_path=log_path,
    )


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks) of a live or zombie pid, None if none."""
    if pid <= 0:
        return None
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[0].decode(), int(fields[2]), int(fields[19])


def _is_running(pid: int, start_ticks: int | None) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X") and start_ticks in (None, stat[2])


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    pids = (int(entry.name) for entry in os.scandir("/proc") if entry.name.isdigit())
    return [p for p in pids if (st := _proc_stat(p)) and st[1] == pgid and st[0] not in ("Z", "X")]


def _read_exit_record(pid: int, log_path: Path | None) -> dict[str, object] | None:
    if log_path is None:
        return None
    try:
        record = json.loads(exit_file_for(log_path).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("pid") == pid else None


def service_state(pid: int, start_ticks: int | None, log_path: Path | None = None) -> ServiceState:
    """Running, or how the service ended, asked of the OS now (never remembered).

    Args:
        start_ticks: as returned by `start_service`; a pid started at another time is not ours.
        log_path: the service's log, next to which its supervisor recorded the exit code.
    """
    if _is_running(pid, start_ticks):
        return ServiceState(status="Running")
    record = _read_exit_record(pid, log_path)
    if record is None:
        return ServiceState(status="Exited")  # killed outright, or the machine restarted
    code = record.get("exit_code")
    status: Literal["Exited", "Stopped"] = "Stopped" if record.get("stopped") else "Exited"
    return ServiceState(status=status, exit_code=code if isinstance(code, int) else None)


def ensure_not_running(pid: int | None, start_ticks: int | None, what: str = "the service") -> None:
    """Raise `ServiceAlreadyRunning` if the recorded process is still alive."""
    if pid is not None and _is_running(pid, start_ticks):
        raise ServiceAlreadyRunning(f"{what} is already running (pid {pid})")


def _wait_until_empty(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def _signal(pid: int, signum: int, group: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, signum)


def stop_service(
    pid: int,
    pgid: int,
    grace_s: float = 10.0,
    *,
    start_ticks: int | None = None,
    log_path: Path | None = None,
) -> int | None:
    """SIGTERM the service's process group, SIGKILL it after `grace_s`; the exit code if known.

    The supervisor is asked first and forwards the signal to its group, so each process gets it
    once; when the supervisor cannot record the outcome (killed, or stopped while still starting),
    this does.  Stopping a service that already ended is not an error.
    """
    stat = _proc_stat(pid)
    if stat is not None and start_ticks is not None and stat[2] != start_ticks:
        return None  # the pid is another process now, so our group (same id) cannot exist any more
    supervisor_running, killed = _is_running(pid, start_ticks), False
    if _group_members(pgid):
        if supervisor_running:
            _signal(pid, signal.SIGTERM)
        else:
            _signal(pgid, signal.SIGTERM, group=True)
        if not _wait_until_empty(pgid, grace_s):
            _signal(pgid, signal.SIGKILL, group=True)
            killed = _wait_until_empty(pgid, 5.0)
    record = _read_exit_record(pid, log_path)
    if record is None and supervisor_running and log_path is not None:
        record = {"pid": pid, "exit_code": 128 + signal.SIGKILL if killed else None, "stopped": True}
        exit_file_for(log_path).write_text(json.dumps(record))
    code = record.get("exit_code") if record else None
    return code if isinstance(code, int) else None


def tail(log_path: Path, lines: int = 100, max_bytes: int = 1 << 20) -> str:
    """The last `lines` lines of a log, read backwards from its end (at most `max_bytes` of it)."""
    if lines <= 0 or not log_path.is_file():
        return ""
    with log_path.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        data = b""
        while position > 0 and data.count(b"\n") <= lines and len(data) < max_bytes:
            step = min(8192, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    parts = data[-max_bytes:].split(b"\n")
    trailing = parts[-1] == b""
    kept = parts[:-1] if trailing else parts
    text = b"\n".join(kept[-lines:]) + (b"\n" if trailing else b"")
    return text.decode("utf-8", errors="replace")
