"""Which tools each agent may use: the `tool_assignments` table (migration 7).

The tool agent's loop offers a model only its agent's assigned tools and refuses any other call,
so this table is the permission: assigning names a tool of the registry (an unknown one is
BadInput naming the known ones) to an agent that exists (NotFound otherwise).  Assigning twice is
the same as once; unassigning a tool that was not assigned changes nothing.

Both stores: in the file store (agent_id, tool) is a primary key; the shared store has no unique
keys, so `assign` checks and inserts in one transaction and reads fold duplicates (DISTINCT).
"""

from __future__ import annotations

import duckdb
from pydantic import BaseModel

from phoenix.errors import BadInput
from phoenix.store.agents import find_agent
from phoenix.store.database import StateStore
from phoenix.tools.registry import TOOLS


class Assignment(BaseModel):
    """One agent's tools after a change: what `phoenix tools assign|unassign` print."""

    agent_id: str
    agent_name: str
    tool: str
    changed: bool
    tools: list[str]


def check_tool(tool: str) -> str:
    """`tool` as a registry name; BadInput naming the known tools otherwise."""
    name = (tool or "").strip()
    if name not in TOOLS:
        raise BadInput(f"No tool named {name!r}; the tools are: {', '.join(TOOLS)}")
    return name


def _assigned(connection: duckdb.DuckDBPyConnection, agent_id: str) -> list[str]:
    rows = connection.execute(
        "SELECT DISTINCT tool FROM tool_assignments WHERE agent_id = ?", [agent_id]
    ).fetchall()
    return _in_registry_order(row[0] for row in rows)


def _in_registry_order(names: object) -> list[str]:
    order = {name: index for index, name in enumerate(TOOLS)}
    return sorted(set(names), key=lambda name: (order.get(name, len(order)), name))  # type: ignore[arg-type]


def assign(store: StateStore, agent_id: str, tool: str) -> Assignment:
    """Let the agent (id or name) use `tool`; idempotent."""
    name = check_tool(tool)
    agent = find_agent(store, agent_id)

    def insert(connection: duckdb.DuckDBPyConnection) -> Assignment:
        before = _assigned(connection, agent.id)
        if name not in before:
            connection.execute(
                "INSERT INTO tool_assignments (agent_id, tool) VALUES (?, ?)", [agent.id, name]
            )
        return Assignment(
            agent_id=agent.id,
            agent_name=agent.name,
            tool=name,
            changed=name not in before,
            tools=_in_registry_order([*before, name]),
        )

    return store.transaction(insert)


def unassign(store: StateStore, agent_id: str, tool: str) -> Assignment:
    """Take `tool` away from the agent (id or name); nothing changes when it was not assigned."""
    name = check_tool(tool)
    agent = find_agent(store, agent_id)

    def delete(connection: duckdb.DuckDBPyConnection) -> Assignment:
        before = _assigned(connection, agent.id)
        if name in before:
            connection.execute(
                "DELETE FROM tool_assignments WHERE agent_id = ? AND tool = ?", [agent.id, name]
            )
        return Assignment(
            agent_id=agent.id,
            agent_name=agent.name,
            tool=name,
            changed=name in before,
            tools=[t for t in before if t != name],
        )

    return store.transaction(delete)


def assigned_tools(store: StateStore, agent_id: str) -> list[str]:
    """The tools the agent (its id, as stored) may use, in the registry's order."""
    return store.read(lambda connection: _assigned(connection, agent_id))


def all_assignments(store: StateStore) -> dict[str, list[str]]:
    """Every agent id that has tools → its tools (for `phoenix tools list`)."""

    def read(connection: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
        rows = connection.execute("SELECT DISTINCT agent_id, tool FROM tool_assignments").fetchall()
        found: dict[str, list[str]] = {}
        for agent_id, tool in rows:
            found.setdefault(agent_id, []).append(tool)
        return {agent: _in_registry_order(tools) for agent, tools in found.items()}

    return store.read(read)
