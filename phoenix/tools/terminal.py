"""The terminal tool: one allow-listed program, run as argv in the sandbox; off unless enabled.

There is no shell anywhere: `argv` goes to `execve` as it is, so `;`, `&&`, `|`, `$(...)`,
backticks and newlines in an argument are that argument's characters, never commands.  Only
`argv[0]`'s name is checked against `PHOENIX_TERMINAL_ALLOW` (a bare name: a path such as
`/bin/sh` is refused, so an allowed name cannot be swapped for another program), and it is found
on the sandbox's PATH.  Shells, `env` and interpreters would run their arguments as programs: the
default list holds none of them (an operator who allows one still gets the same sandbox).
"""

from __future__ import annotations

from typing import Any

from phoenix.tools.code_interpreter import sandbox_tool_result
from phoenix.tools.run import ToolFailed, ToolResult
from phoenix.tools.sandbox import (
    find_program,
    limits_for,
    run_sandboxed,
    sandbox_environment,
    sandbox_home,
    scratch_folder,
)
from phoenix.tools.settings import ToolSettings


def run(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    if not settings.terminal_enabled:
        raise ToolFailed("The terminal tool is off; set PHOENIX_TERMINAL_ENABLED=true to enable it")
    argv = [str(part) for part in arguments["argv"]]
    name = argv[0]
    if "/" in name or name not in settings.terminal_allow:
        raise ToolFailed(
            f"{name!r} is not an allowed command; allowed: {', '.join(settings.terminal_allow)}"
            " (PHOENIX_TERMINAL_ALLOW)"
        )
    if any("\0" in part for part in argv):
        raise ToolFailed("An argument contains a NUL byte")
    limits = limits_for(settings)
    with scratch_folder(sandbox_home(settings)) as folder:
        environment = sandbox_environment(folder)
        program = find_program(name, environment)
        if program is None:
            raise ToolFailed(f"{name!r} is allowed but not installed where the sandbox can run it")
        outcome = run_sandboxed([program, *argv[1:]], folder, limits, environment=environment)
    return sandbox_tool_result("terminal", outcome, limits.timeout_s)
