"""Running a repository's commands: argv only, a timeout, output kept, nothing left behind.

Commands come from a repository's own files and their arguments from people, so nothing here ever
goes through a shell: `; rm -rf`, `$(...)` and `../` are just bytes in an argument.  Each command
runs in a session of its own, so a timeout kills it together with everything it started.  A program
that is not installed is an ordinary failed result (exit code 127 and a sentence saying which),
not an exception, so a build can report "BuildFailed: cargo is not installed".  The environment
is the caller's to give, and always `environment.repo_environment`: an allow-list, never Phoenix's.
A command also ends, with everything it started, when the request it runs for is cancelled
(`phoenix.cancellation`: Ctrl-C on the CLI, a closed connection to the service).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from phoenix.cancellation import cancel_requested

OUTPUT_LIMIT = 64 * 1024
CANCEL_POLL_S = 0.25
"""How often a running command looks whether its request was cancelled."""
NOT_INSTALLED = 127


class RunResult(BaseModel):
    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    cancelled: bool = False
    duration_s: float


def _tail(data: bytes) -> str:
    return data[-OUTPUT_LIMIT:].decode("utf-8", errors="replace")


def run_argv(
    argv: list[str],
    cwd: Path,
    environment: Mapping[str, str],
    timeout_s: float,
    log_path: Path | None = None,
) -> RunResult:
    """Run `argv` in `cwd` and wait for it, at most `timeout_s` seconds."""
    started = time.monotonic()
    if not argv:
        return RunResult(argv=argv, exit_code=2, stdout="", stderr="empty command", duration_s=0)
    program = shutil.which(argv[0], path=environment.get("PATH")) if "/" not in argv[0] else argv[0]
    if program is None:
        return RunResult(
            argv=argv,
            exit_code=NOT_INSTALLED,
            stdout="",
            stderr=f"{argv[0]} is not installed (not found on PATH)",
            duration_s=0.0,
        )
    process = subprocess.Popen(
        [program, *argv[1:]],
        cwd=cwd,
        env=dict(environment),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    stdout, stderr, timed_out, cancelled = _wait(process, started + timeout_s)
    ending = f"\ntimed out after {timeout_s:g} s" if timed_out else "\ncancelled" if cancelled else ""
    result = RunResult(
        argv=argv,
        exit_code=-signal.SIGKILL if timed_out or cancelled else process.returncode,
        stdout=_tail(stdout),
        stderr=_tail(stderr) + ending,
        timed_out=timed_out,
        cancelled=cancelled,
        duration_s=round(time.monotonic() - started, 3),
    )
    if log_path is not None:
        _append_log(log_path, result, stdout, stderr)
    return result


def _wait(process: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bytes, bool, bool]:
    """(stdout, stderr, timed out, cancelled): the process's output once it ended, or once it was
    killed with its whole session at the deadline or on cancellation."""
    while True:
        remaining = deadline - time.monotonic()
        try:
            stdout, stderr = process.communicate(timeout=max(0.0, min(CANCEL_POLL_S, remaining)))
            return stdout, stderr, False, False
        except subprocess.TimeoutExpired:  # retrying communicate loses no output
            cancelled = cancel_requested()
            if cancelled or time.monotonic() >= deadline:
                _kill_group(process.pid)
                stdout, stderr = process.communicate()
                return stdout, stderr, not cancelled, cancelled


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _append_log(log_path: Path, result: RunResult, stdout: bytes, stderr: bytes) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(result.argv)}\n".encode())
        log.write(stdout)
        log.write(stderr)
        log.write(f"[exit {result.exit_code} after {result.duration_s:.1f} s]\n".encode())
