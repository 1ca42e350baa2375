"""`system exec`: one argv run in the sandbox, its working folder the workspace.

Never a shell: the argv goes to the program as it is, so `;`, `$(...)` or `&&` in an argument are
just characters of that argument.  The sandbox (`phoenix.tools.sandbox`) strips the environment of
secrets and bounds time, memory, processes and output.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from phoenix.errors import BadInput, NotFound
from phoenix.system.settings import SystemSettings
from phoenix.system.workspace import ensure_workspace, is_encodable

MAX_ARGUMENTS = 1000
MAX_ARGV_BYTES = 64 * 1024
"""The most bytes all arguments may take together (the kernel refuses an argument past 128 KiB)."""


class ExecResult(BaseModel):
    """What one exec did."""

    argv: list[str]
    exit_code: int | None = Field(description="None when it was killed at its timeout.")
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool = Field(description="Whether the output was cut at the sandbox's cap.")
    isolation: list[str] = Field(description="The sandbox's layers that applied (namespaces...).")
    duration_s: float


def check_argv(argv: list[str]) -> list[str]:
    """A usable argv: a program and its arguments, no NUL bytes; else `BadInput`."""
    if not argv or not argv[0].strip():
        raise BadInput("exec needs a program and its arguments, e.g. ['ls', '-l']")
    if len(argv) > MAX_ARGUMENTS:
        raise BadInput(f"exec takes at most {MAX_ARGUMENTS} arguments, not {len(argv)}")
    if any("\x00" in argument or not is_encodable(argument) for argument in argv):
        raise BadInput("An argument of exec holds a NUL byte or is not valid Unicode")
    size = sum(len(argument.encode("utf-8")) + 1 for argument in argv)
    if size > MAX_ARGV_BYTES:
        raise BadInput(f"exec's arguments take {size} bytes together; at most {MAX_ARGV_BYTES}")
    return argv


def run_in_workspace(argv: list[str], settings: SystemSettings) -> ExecResult:
    """Run `argv` in the sandbox with the workspace as its working folder."""
    from phoenix.tools.sandbox import limits_for, run_sandboxed
    from phoenix.tools.settings import load_tool_settings

    check_argv(argv)
    folder = ensure_workspace(settings.workspace)
    phoenix_home = Path(os.environ.get("PHOENIX_HOME") or Path.home() / ".phoenix").resolve()
    if folder == Path("/") or phoenix_home.is_relative_to(folder):
        raise BadInput(
            f"PHOENIX_WORKSPACE={folder} holds PHOENIX_HOME ({phoenix_home}) or is the root: "
            "exec gives the whole workspace to the sandbox; set PHOENIX_WORKSPACE to a folder of its own"
        )
    # The sandbox's limits (PHOENIX_SANDBOX_*), with system exec's own wall-clock timeout.
    limits = limits_for(load_tool_settings()).model_copy(update={"timeout_s": settings.exec_timeout})
    try:
        result = run_sandboxed(argv, folder, limits)
    except FileNotFoundError:
        raise NotFound(f"No program {argv[0]!r} on the sandbox's PATH") from None
    except OSError as error:  # E2BIG, ENOMEM ...: the launcher could not even start
        raise BadInput(f"Cannot start {argv[0]!r}: {error.strerror or error}") from None
    return ExecResult(
        argv=argv,
        exit_code=None if result.timed_out else result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        timed_out=result.timed_out,
        truncated=result.truncated,
        isolation=list(result.isolation),
        duration_s=result.duration_s,
    )
