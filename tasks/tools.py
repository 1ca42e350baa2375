"""One tool call as a Prefect task: the tool agent's loop, `phoenix tools exec` and the tools flow
run every tool through `run_tool_task`, so each call is a task run in the UI named after its tool,
with its result recorded; and the tasks over the agents' tool assignments in DuckDB."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix.store import assignments
from phoenix.store.assignments import Assignment
from phoenix.tools.run import ToolResult, run_tool
from phoenix.tools.settings import ToolSettings


def _tool_run_name() -> str:
    from prefect.runtime import task_run

    return str((task_run.parameters or {}).get("name") or "tool")


@task(name="tool", task_run_name=_tool_run_name, cache_policy=NO_CACHE, persist_result=True)
def run_tool_task(name: str, arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    """Run the tool `name`; a tool's failure is a result with ok=False, never a failed task run
    (the model reads the error and may try again)."""
    return run_tool(name, arguments, settings)


@task(name="read-tool-assignments", cache_policy=NO_CACHE)
def read_assignments(agent: str | None) -> dict[str, Any]:
    """The agent (id or name) and its tools, or every agent that has tools."""
    from phoenix.store import open_store
    from phoenix.store.agents import find_agent, list_agents

    store = open_store()
    if agent:
        record = find_agent(store, agent)
        return {"agents": [_agent_tools(record, assignments.assigned_tools(store, record.id))]}
    by_agent = assignments.all_assignments(store)
    records = [record for record in list_agents(store) if record.id in by_agent]
    return {"agents": [_agent_tools(record, by_agent[record.id]) for record in records]}


def _agent_tools(record: Any, tools: list[str]) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "tools": tools}


@task(name="assign-tool", cache_policy=NO_CACHE)
def assign_tool(agent: str, tool: str) -> Assignment:
    from phoenix.store import open_store

    return assignments.assign(open_store(), agent, tool)


@task(name="unassign-tool", cache_policy=NO_CACHE)
def unassign_tool(agent: str, tool: str) -> Assignment:
    from phoenix.store import open_store

    return assignments.unassign(open_store(), agent, tool)
