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
* **No process outlives its service** (systemd's control-group kill mode, without cgroups).  However
  the main process ends — a crash, a normal exit, a stop — the supervisor then ends everything the
  service started: its process group and every descendant, even one that left the group with
  `setsid`, because the supervisor is a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so orphans
  are reparented to it instead of to init.  SIGTERM first, SIGKILL after a grace period.  What the
  supervisor could not end (it was itself killed, say) is swept when the status is next read or the
  service stopped: every process of the group or whose environment carries the instance's marker
  (`PHOENIX_SERVICE_INSTANCE=<supervisor pid>:<its start time>`), found with psutil.
* **The environment is an allow-list** (`phoenix.ecosystem.environment`): a service never sees
  Phoenix's tokens or the user's cloud keys, only the basics, its repository's variables and `PORT`.
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

import psutil
from pydantic import BaseModel

from phoenix.ecosystem.environment import SERVICE_MARKER, inherited_environment
from phoenix.errors import BadInput, Conflict, OperationFailed
from phoenix.managed_server import free_port as free_port  # re-exported for callers of $PORT

POLL_S = 0.05
# How long what a service left behind gets between SIGTERM and SIGKILL, in the supervisor and when
# a status read sweeps.  Shorter than `stop_service`'s default grace, so a stop sees the supervisor
# finish its sweep and record the exit code.
LEFTOVER_GRACE_S = 3.0
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


def _supervise(exit_file: str, grace_s: float, marker: str, argv: list[str]) -> int:
    """The group leader above the command; runs alone in `python -I -S -c`, so stdlib imports only.

    Starts `argv` with the instance marker in its environment, reaps every child (its own and the
    orphans it adopts as a subreaper), and when the main process ends, ends everything the service
    started before recording the exit code.
    """
    import contextlib
    import ctypes
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    me = os.getpid()
    child: subprocess.Popen[bytes] | None = None
    requested: list[int] = []  # the stop signal we were sent, if any
    forwarded = False

    def stat(pid: int) -> tuple[str, int, int, int] | None:
        """(state, parent, process group, start ticks) of a pid, from /proc."""
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            return None
        fields = raw[raw.rindex(b")") + 2 :].split()
        return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[19])

    def leftovers() -> set[int]:
        """Live processes of this group, and every live descendant wherever its group."""
        table = {}
        for name in os.listdir("/proc"):
            if name.isdigit() and (info := stat(int(name))) is not None and info[0] not in "ZX":
                table[int(name)] = info
        children: dict[int, list[int]] = {}
        for pid, info in table.items():
            children.setdefault(info[1], []).append(pid)
        found, stack = set(), [me]
        while stack:
            for pid in children.get(stack.pop(), []):
                if pid not in found:
                    found.add(pid)
                    stack.append(pid)
        found |= {pid for pid, info in table.items() if info[2] == me}
        found.discard(me)
        return found

    def reap() -> None:
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    return
            except ChildProcessError:
                return

    def send(pids: set[int], signum: int) -> None:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)

    def end_leftovers() -> None:
        remaining = leftovers()
        send(remaining, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while remaining and time.monotonic() < deadline:
            time.sleep(0.05)
            reap()
            remaining = leftovers()
        send(remaining, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while remaining and time.monotonic() < deadline:
            time.sleep(0.02)
            reap()
            remaining = leftovers()

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
    # Orphans of the service are reparented here, not to init, so they can be found and ended.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    own = stat(me)
    os.environ[marker] = f"{me}:{own[3] if own else ''}"
    try:
        child = subprocess.Popen(argv)  # same cwd, stdio and process group as this one
    except OSError as exc:
        print(f"phoenix: cannot start {argv[0]}: {exc}", file=sys.stderr, flush=True)
        code = 126 if isinstance(exc, PermissionError) else 127
    else:
        forward()  # a stop that arrived while the child was being started
        while True:  # reap adopted orphans as they end; stop when the service's main process does
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                status = child.wait()  # not reachable: the child is ours until reaped above
                break
            if pid == child.pid:
                status = os.waitstatus_to_exitcode(status)
                child.returncode = status
                break
        code = 128 - status if status < 0 else status  # killed by N → 128+N, as shells say
        end_leftovers()
    print(f"phoenix: service exited with code {code}", file=sys.stderr, flush=True)
    record = {"pid": me, "exit_code": code, "stopped": bool(requested)}
    partial = f"{exit_file}.{me}.tmp"
    with open(partial, "w") as handle:
        handle.write(json.dumps(record))
    os.replace(partial, exit_file)
    return code


@functools.cache
def _supervisor_code() -> str:
    arguments = "sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4:]"
    call = f"import sys\nsys.exit(_supervise({arguments}))\n"
    return "from __future__ import annotations\n" + inspect.getsource(_supervise) + call


def service_instance(pid: int, start_ticks: int | None) -> str:
    """The marker value the supervisor `pid` puts in its service's environment."""
    return f"{pid}:{'' if start_ticks is None else start_ticks}"


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
        env: the service's whole environment (`environment.repo_environment`); when omitted, the
            allow-listed basics of this process's (`environment.inherited_environment`) — never
            this process's own environment, which holds Phoenix's tokens.  `PORT` is added.
        port: the port to give it; a free one on 127.0.0.1 when omitted.
    """
    if not argv or not argv[0]:
        raise BadInput("a service needs a command to run")
    if not cwd.is_dir():
        raise ServiceStartFailed(f"the service's folder {cwd} does not exist")
    port = port if port is not None else free_port()
    argv = substitute_port(argv, port)
    environment = {**(env if env is not None else inherited_environment()), "PORT": str(port)}
    program = _resolve_program(argv[0], cwd, environment.get("PATH"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    exit_file = exit_file_for(log_path)
    exit_file.unlink(missing_ok=True)  # a record left by the previous run would be read as this one's
    command = [sys.executable, "-I", "-S", "-c", _supervisor_code(), str(exit_file),
               str(LEFTOVER_GRACE_S), SERVICE_MARKER, program, *argv[1:]]  # fmt: skip
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

    A service found ended has what it left behind ended too (`end_leftovers`).

    Args:
        start_ticks: as returned by `start_service`; a pid started at another time is not ours.
        log_path: the service's log, next to which its supervisor recorded the exit code.
    """
    if _is_running(pid, start_ticks):
        return ServiceState(status="Running")
    end_leftovers(pid, start_ticks)
    record = _read_exit_record(pid, log_path)
    if record is None:
        return ServiceState(status="Exited")  # killed outright, or the machine restarted
    code = record.get("exit_code")
    status: Literal["Exited", "Stopped"] = "Stopped" if record.get("stopped") else "Exited"
    return ServiceState(status=status, exit_code=code if isinstance(code, int) else None)


def service_processes(pid: int, start_ticks: int | None) -> list[psutil.Process]:
    """The live processes of the service whose supervisor is (or was) `pid`, the supervisor aside:
    its process group, and every process whose environment carries the instance's marker — which
    finds one that left the group (setsid) and was reparented away."""
    instance = service_instance(pid, start_ticks)
    stat = _proc_stat(pid)
    group_is_ours = stat is None or start_ticks is None or stat[2] == start_ticks
    found = []
    for process in psutil.process_iter():
        if process.pid in (pid, os.getpid()):
            continue
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if (group_is_ours and os.getpgid(process.pid) == pid) or (
                process.environ().get(SERVICE_MARKER) == instance
            ):
                found.append(process)
        except (psutil.Error, OSError):
            continue  # ended meanwhile, or not ours to read
    return found


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def end_leftovers(pid: int, start_ticks: int | None, grace_s: float = LEFTOVER_GRACE_S) -> list[int]:
    """SIGTERM what the service of supervisor `pid` left running, SIGKILL it after `grace_s`.

    The supervisor does this itself when the service's main process ends; this catches what it
    could not (it was killed itself, or the machine's init adopted a process first).  Returns the
    pids it found; usually none.
    """
    leftovers = service_processes(pid, start_ticks)
    found = [process.pid for process in leftovers]
    for signum, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signum)
        deadline = time.monotonic() + wait_s
        remaining = [p for p in leftovers if _alive(p)]
        while remaining and time.monotonic() < deadline:
            time.sleep(POLL_S)
            remaining = [p for p in remaining if _alive(p)]
        if not remaining:
            break
        leftovers = remaining
    return found


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
        end_leftovers(pid, start_ticks)
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
    end_leftovers(pid, start_ticks)  # what left the group, if the supervisor could not end it
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
