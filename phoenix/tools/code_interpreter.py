"""The code_interpreter tool: a short Python or JavaScript program, run in the sandbox.

The program is written to `main.py` / `main.js` in a fresh scratch folder and run there by an
interpreter the sandboxed user can reach (Python: Phoenix's own when others can run it, else the
machine's `python3`; JavaScript: `node`, when installed).  Its exit status, stdout and stderr make
the result; a non-zero exit is `ok=False` with the stderr's tail as the error.

V8 reserves a large address space up front (a 512 MB RLIMIT_AS kills node with "Failed to reserve
virtual memory for CodeRange"; 2 GB is enough, measured with node 18), so for JavaScript the
address-space limit is raised by `NODE_RESERVE_MB` and the heap is capped with
`--max-old-space-size` instead.
"""

from __future__ import annotations

from typing import Any

from phoenix.tools.run import ToolFailed, ToolResult
from phoenix.tools.sandbox import (
    SandboxResult,
    find_program,
    limits_for,
    run_sandboxed,
    sandbox_environment,
    sandbox_home,
    sandbox_python,
    scratch_folder,
)
from phoenix.tools.settings import ToolSettings

NODE_RESERVE_MB = 2048
ERROR_TAIL = 2000
# The program is read by a relative path from the working folder: as root the sandbox's user id
# may not traverse the folders above its scratch folder (a 0700 home, pytest's tmp), and both
# `python main.py` and `node main.js` turn the script's path into an absolute one before opening.
PYTHON_BOOTSTRAP = (
    "import sys; sys.argv = ['main.py']; __file__ = 'main.py'; "
    "exec(compile(open('main.py', encoding='utf-8').read(), 'main.py', 'exec'))"
)
NODE_BOOTSTRAP = (
    "require('vm').runInThisContext(require('fs').readFileSync('main.js', 'utf8'),"
    " {filename: 'main.js'})"
)


def python_argv(python: str) -> list[str]:
    """How the sandbox runs `main.py` of its working folder."""
    return [python, "-I", "-c", PYTHON_BOOTSTRAP]


def run(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    language = arguments.get("language", "python")
    limits = limits_for(settings)
    with scratch_folder(sandbox_home(settings)) as folder:
        environment = sandbox_environment(folder)
        if language == "javascript":
            node = find_program("node", environment)
            if node is None:
                raise ToolFailed("JavaScript needs node, which is not installed on this machine")
            (folder / "main.js").write_text(arguments["code"])
            argv = [node, f"--max-old-space-size={limits.memory_mb}", "-e", NODE_BOOTSTRAP]
            limits = limits.model_copy(update={"memory_mb": limits.memory_mb + NODE_RESERVE_MB})
        else:
            python = sandbox_python(environment)
            if python is None:
                raise ToolFailed("No Python interpreter the sandbox can run was found")
            (folder / "main.py").write_text(arguments["code"])
            argv = python_argv(python)
        outcome = run_sandboxed(argv, folder, limits, environment=environment)
    return sandbox_tool_result("code_interpreter", outcome, limits.timeout_s)


def sandbox_tool_result(tool: str, outcome: SandboxResult, timeout_s: float) -> ToolResult:
    """A sandboxed run as a tool result: ok when it exited 0 within its limits."""
    error = None
    if outcome.timed_out:
        error = f"Stopped after {timeout_s:g} s (the sandbox's time limit)"
    elif outcome.truncated:
        error = "Stopped: its output passed the sandbox's output limit"
    elif outcome.exit_code != 0:
        tail = outcome.stderr[-ERROR_TAIL:].strip()
        error = f"Exited with status {outcome.exit_code}" + (f": {tail}" if tail else "")
    return ToolResult(
        tool=tool,
        ok=error is None,
        output=outcome.stdout,
        error=error,
        isolation=outcome.isolation,
        details={
            "exit_code": outcome.exit_code,
            "stderr": outcome.stderr,
            "timed_out": outcome.timed_out,
            "truncated": outcome.truncated,
        },
    )
