"""tools: the tool registry, the agents' tool assignments, and one tool run directly.

`list` shows every tool with its argument schema (and which agents have it); `assign` and
`unassign` change which tools an agent may use (the tool agent's loop refuses any other); `exec`
runs one tool as a task — through the same sandbox and mock mode as an agent's call — for a person
or a script (`phoenix tools exec TOOL ARGS_JSON`).
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from blocks.tools import resolve_tool_settings
from flows.run_names import shorten
from phoenix.errors import UsageError
from phoenix.tools.registry import TOOLS, get_tool
from tasks.tools import assign_tool, read_assignments, run_tool_task, unassign_tool

ToolsAction = Literal["list", "assign", "unassign", "exec"]


def tools_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = dict(flow_run.parameters or {})
    subject = " ".join(str(parameters.get(key) or "") for key in ("agent", "tool")).strip()
    return f"tools {parameters.get('action', '')} {shorten(subject, 40)}".rstrip()


@flow(name="tools", flow_run_name=tools_run_name, validate_parameters=True)
def tools(
    action: ToolsAction,
    agent: str | None = None,
    tool: str | None = None,
    arguments: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """List the tools, assign one to an agent or take it away, or run one.

    Args:
        action: list, assign, unassign or exec.
        agent: the agent's id or name (assign, unassign; list: only this agent's tools).
        tool: the tool's name (assign, unassign, exec), as `phoenix tools list` shows it.
        arguments: exec: the tool's arguments, a JSON object matching its schema.
    """
    if action == "list":
        assigned = read_assignments(agent)
        mine = set(assigned["agents"][0]["tools"]) if agent and assigned["agents"] else None
        items = [
            spec.model_dump() | ({"assigned": spec.name in mine} if mine is not None else {})
            for spec in TOOLS.values()
        ]
        return {"items": items, "count": len(items), "agents": assigned["agents"]}
    if not tool or not tool.strip():
        raise UsageError(f"tools {action} needs a tool name (see: phoenix tools list)")
    if action == "exec":
        get_tool(tool.strip())  # an unknown tool is NotFound, not a failed run
        return run_tool_task(tool.strip(), arguments or {}, resolve_tool_settings()).model_dump()
    if not agent or not agent.strip():
        raise UsageError(f"tools {action} needs an agent (its id or name; see: phoenix agents list)")
    if action == "assign":
        return assign_tool(agent.strip(), tool.strip()).model_dump()
    if action == "unassign":
        return unassign_tool(agent.strip(), tool.strip()).model_dump()
    raise UsageError(f"Unknown tools action {action!r}")
