"""How system commands read for people: the router's one-line message, and `phoenix command
"system ..."` without --json (registered in `phoenix.human.RENDERERS` under "system")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Result = dict[str, Any]

GIB = 1024**3


def _uptime(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"


def system_message(action: str, result: Result) -> str:
    """The envelope's `message`: what a person reads first."""
    if action == "status":
        load = (result.get("load_average") or [0.0])[0]
        switch = "on" if result.get("system_commands") else "off"
        return (
            f"{result['hostname']}: {result['os']}, Python {result['python']},"
            f" {result['cpu_count']} CPUs, load {load}, memory {result['memory']['used_percent']}%"
            f" used, disk {result['disk']['used_percent']}% used, up {_uptime(result['uptime_s'])};"
            f" system commands {switch}"
        )
    if action == "exec":
        return f"{result['argv'][0]} exited with {result['exit_code']}\n{result['stdout']}".rstrip()
    if action == "read-file":
        return str(result["content"])
    verb = "Created" if result.get("created") else "Replaced"
    return f"{verb} {result['path']} ({result['size']} bytes)"


def _status(result: Result, screen: Any) -> None:
    memory, disk = result["memory"], result["disk"]
    screen.fields(
        f"{result['hostname']} (Phoenix {result['version']})",
        [
            ("OS", result["os"]),
            ("Python", result["python"]),
            ("CPUs", result["cpu_count"]),
            ("Load", " ".join(str(value) for value in result["load_average"])),
            (
                "Memory",
                f"{memory['used_percent']}% used of {memory['total_bytes'] / GIB:.1f} GiB",
            ),
            (
                "Disk",
                f"{disk['used_percent']}% used, {disk['free_bytes'] / GIB:.1f} GiB free"
                f" ({disk['path']})",
            ),
            ("Uptime", _uptime(result["uptime_s"])),
            ("Commands", "on" if result["system_commands"] else "off (PHOENIX_SYSTEM_COMMANDS)"),
            ("Workspace", result["workspace"]),
        ],
    )


def _exec(result: Result, screen: Any) -> None:
    """The program's own output: stdout on stdout, stderr on stderr."""
    stdout = str(result.get("stdout") or "")
    if stdout:
        screen.out.write(stdout if stdout.endswith("\n") else stdout + "\n")
    stderr = str(result.get("stderr") or "")
    if stderr.strip():
        screen.note(stderr.rstrip("\n"))
    screen.note(f"{result['argv'][0]} exited with {result['exit_code']} in {result['duration_s']} s")


def _read(result: Result, screen: Any) -> None:
    content = str(result.get("content") or "")
    screen.out.write(content if content.endswith("\n") or not content else content + "\n")


def system(result: Result, screen: Any) -> None:
    """A successful system envelope, by its action."""
    action = result.get("action")
    if action == "status":
        _status(result, screen)
    elif action == "exec":
        _exec(result, screen)
    elif action == "read-file":
        _read(result, screen)
    else:
        screen.line(str(result.get("message", "")))


RENDERERS: dict[str, Callable[[Result, Any], None]] = {"system": system}
