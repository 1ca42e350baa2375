"""Tasks of system commands: the machine's status, and exec/read/write in the workspace.

Thin on purpose: the confinement and the caps live in `phoenix.system`; each task adds its name in
the UI.  A read or written file's content is never put in a task name or an artifact.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix.settings import load_settings
from phoenix.system import execute, workspace
from phoenix.system.execute import ExecResult
from phoenix.system.settings import SystemSettings
from phoenix.system.status import SystemStatus, collect_status
from phoenix.system.workspace import FileContent, WrittenFile


@task(name="system-status", cache_policy=NO_CACHE)
def read_system_status(settings: SystemSettings) -> SystemStatus:
    return collect_status(load_settings().home, settings)


@task(name="system-exec", cache_policy=NO_CACHE)
def exec_in_workspace(argv: list[str], settings: SystemSettings) -> ExecResult:
    return execute.run_in_workspace(argv, settings)


@task(name="system-read-file", cache_policy=NO_CACHE)
def read_workspace_file(path: str, settings: SystemSettings) -> FileContent:
    return workspace.read_file(settings.workspace, path, settings.max_read_bytes)


@task(name="system-write-file", cache_policy=NO_CACHE)
def write_workspace_file(path: str, content: str, settings: SystemSettings) -> WrittenFile:
    return workspace.write_file(settings.workspace, path, content, settings.max_write_bytes)
