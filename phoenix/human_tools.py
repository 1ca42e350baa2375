"""How `phoenix tools …` reads for people (see `phoenix.human`).

`list` is a table of the tools with their arguments (required ones marked `*`) and a line per
agent that has tools; `assign`/`unassign` say what changed and what the agent has now; `exec`
prints what the tool produced (a file's path for an image or audio), and a failure's reason on
stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Result = dict[str, Any]


def _arguments(parameters: Result) -> str:
    """`code*, language`; for a choice of arguments (database) `one of: query, sql`."""
    required = set(parameters.get("required") or [])
    names = [f"{name}*" if name in required else name for name in parameters.get("properties", {})]
    choices = [name for choice in parameters.get("oneOf") or [] for name in choice.get("required", [])]
    text = ", ".join(names) or "(none)"
    return f"{text} (one of: {', '.join(choices)})" if choices else text


def tools_list(result: Result, screen: Any) -> None:
    items = result.get("items") or []
    marked = any("assigned" in item for item in items)
    columns = ["tool", "output", "arguments", "description"] + (["assigned"] if marked else [])
    rows = [
        [
            item.get("name"),
            item.get("output_kind"),
            _arguments(item.get("parameters") or {}),
            item.get("description"),
        ]
        + (["yes" if item.get("assigned") else ""] if marked else [])
        for item in items
    ]
    screen.table(f"{len(items)} tools (* = required argument)", columns, rows)
    agents = result.get("agents") or []
    screen.line()
    if not agents:
        screen.line("No agent has tools yet. Try `phoenix tools assign AGENT TOOL`.")
        return
    for agent in agents:
        tools = ", ".join(agent.get("tools") or []) or "no tools"
        screen.line(f"Agent {agent.get('name')} ({agent.get('id')}): {tools}")


def _assignment(verb: str, already: str) -> Callable[[Result, Any], None]:
    def render(result: Result, screen: Any) -> None:
        agent = f"{result.get('agent_name')} ({result.get('agent_id')})"
        if result.get("changed"):
            screen.line(f"{verb} {result.get('tool')} for agent {agent}.")
        else:
            screen.line(f"Agent {agent} {already} {result.get('tool')}; nothing changed.")
        screen.line(f"Its tools: {', '.join(result.get('tools') or []) or 'none'}")

    return render


def tools_exec(result: Result, screen: Any) -> None:
    output = result.get("output")
    if result.get("kind") in ("image", "audio") and result.get("ok"):
        screen.line(f"{str(result.get('kind')).capitalize()} saved to {output}")
    elif output:
        screen.line(str(output).rstrip("\n"))
    elif result.get("ok"):
        screen.line("(no output)")
    if result.get("mock"):
        screen.note("note: SIMULATED_TOOLS_MOCK is on: this output is simulated")


RENDERERS: dict[str, Callable[[Result, Any], None]] = {
    "tools.list": tools_list,
    "tools.assign": _assignment("Assigned", "already has"),
    "tools.unassign": _assignment("Unassigned", "does not have"),
    "tools.exec": tools_exec,
}
