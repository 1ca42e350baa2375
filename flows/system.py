"""system: the machine's status, and exec / read-file / write-file confined to the workspace.

`status` always runs.  The other three act on this machine, so they run only when the operator
set `PHOENIX_SYSTEM_COMMANDS=on`, and only inside the workspace folder (`PHOENIX_WORKSPACE`); the
router, the CLI (`phoenix command "system ..."`) and the HTTP API (`/api/system/*`) all come here,
so each is a flow run in the Prefect UI.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from flows.run_names import shorten
from phoenix.envelope import failed_result
from phoenix.errors import CommandFailed, UsageError
from phoenix.system.execute import check_argv
from phoenix.system.settings import load_system_settings
from tasks.system import (
    exec_in_workspace,
    read_system_status,
    read_workspace_file,
    write_workspace_file,
)

SystemAction = Literal["status", "exec", "read-file", "write-file"]


def system_run_name() -> str:
    """`system status`, `system exec: ls`, `system write-file: notes/a.txt` — never an argument
    after the program, never a file's content."""
    from prefect.runtime import flow_run

    parameters = dict(flow_run.parameters or {})
    action = parameters.get("action", "")
    subject = parameters.get("path") or (parameters.get("argv") or [""])[0]
    return f"system {action}: {shorten(subject, 30)}".rstrip(": ")


@flow(name="system", flow_run_name=system_run_name, validate_parameters=True)
def system(
    action: SystemAction,
    argv: list[str] | None = None,
    path: str | None = None,
    content: str | None = None,
) -> dict[str, Any]:
    """One system command.

    Args:
        action: status (always), or exec, read-file, write-file (when PHOENIX_SYSTEM_COMMANDS=on).
        argv: the program and its arguments (exec); run without a shell, in the workspace.
        path: a file relative to the workspace (read-file, write-file).
        content: the text to write (write-file); the file is replaced whole.
    """
    settings = load_system_settings()
    if action == "status":
        return read_system_status(settings).model_dump()
    settings.require_enabled(action)
    if action == "exec":
        result = exec_in_workspace(check_argv(argv or []), settings).model_dump()
        if result["timed_out"]:
            error = CommandFailed(f"{argv[0]} timed out after {settings.exec_timeout:g} s")
            return failed_result(result, error)
        if result["exit_code"] != 0:
            error = CommandFailed(f"{argv[0]} exited with {result['exit_code']}")
            return failed_result(result, error)
        return result
    if path is None:
        raise UsageError(f"system {action} needs a path")
    if action == "read-file":
        return read_workspace_file(path, settings).model_dump()
    if content is None:
        raise UsageError("system write-file needs content")
    return write_workspace_file(path, content, settings).model_dump()
