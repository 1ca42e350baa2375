"""/api/system/*: the machine's status, and exec / read-file / write-file in the workspace.

Each route runs the `system` flow.  Exec, read-file and write-file answer 403
(system_commands_disabled) unless PHOENIX_SYSTEM_COMMANDS=on in the API's environment, and reach only
the workspace folder (PHOENIX_WORKSPACE): a path outside it is a 400 (outside_workspace).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from phoenix.api.models import (
    SystemExecRequest,
    SystemExecResponse,
    SystemFileResponse,
    SystemReadRequest,
    SystemStatusResponse,
    SystemWriteRequest,
    SystemWrittenResponse,
    error_responses,
)
from phoenix.api.results import run_flow_response

router = APIRouter(prefix="/api/system", tags=["system"])


@router.get("/status", response_model=SystemStatusResponse, responses=error_responses())
def status() -> Any:
    """Host, OS, Python, CPUs, load, memory, the disk of PHOENIX_HOME, uptime, Phoenix's version."""
    return run_flow_response("system", {"action": "status"})


@router.post(
    "/exec", response_model=SystemExecResponse, responses=error_responses(422, 400, 403, 404, 502)
)
def exec_argv(request: SystemExecRequest) -> Any:
    """Run `argv` in the sandbox, in the workspace, without a shell; 502 if it exits non-zero."""
    return run_flow_response("system", {"action": "exec", "argv": request.argv})


@router.post(
    "/read-file",
    response_model=SystemFileResponse,
    responses=error_responses(422, 400, 403, 404, 413),
)
def read_file(request: SystemReadRequest) -> Any:
    """The UTF-8 text of a file of the workspace (at most PHOENIX_SYSTEM_MAX_READ_BYTES)."""
    return run_flow_response("system", {"action": "read-file", "path": request.path})


@router.post(
    "/write-file",
    response_model=SystemWrittenResponse,
    responses=error_responses(422, 400, 403, 413),
)
def write_file(request: SystemWriteRequest) -> Any:
    """Write `content` to a file of the workspace, whole or not at all (missing folders made)."""
    return run_flow_response(
        "system", {"action": "write-file", "path": request.path, "content": request.content}
    )
