"""agents: the agents Phoenix has made — create a tool agent, list them, show one, import one.

Every agent has a row in DuckDB's `agents` table: a spawned one is written by spawn-agent and
enforce-pr, a tool agent (a name and a mission, no code) by `create` here; this flow is how the CLI
and the HTTP API read them, each with the tools assigned to it.  `import` is the original system's
"resurrection": the agent's repository, cloned from its forge, becomes an ecosystem repository
that Phoenix builds and runs like any other.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Literal
from urllib.parse import urlsplit

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.ecosystem import ecosystem_command, import_and_build_repo
from flows.run_names import shorten
from phoenix.errors import BadInput, UsageError
from phoenix.store import open_store
from phoenix.store.agents import AgentRecord, create_agent, find_agent, list_agents

AgentsAction = Literal["list", "show", "import", "create"]


def agents_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = dict(flow_run.parameters or {})
    subject = parameters.get("agent_id") or parameters.get("name") or ""
    return f"agents {parameters.get('action', '')} {shorten(subject, 30)}".rstrip()


@task(name="read-agents", cache_policy=NO_CACHE)
def read_agents(agent_id: str | None) -> list[dict[str, Any]]:
    """The agent (id or name), or every agent: each shown with its assigned tools."""
    from phoenix.store.assignments import all_assignments

    store = open_store()
    records = [find_agent(store, agent_id)] if agent_id else list_agents(store)
    tools = all_assignments(store)
    return [record.shown() | {"tools": tools.get(record.id, [])} for record in records]


@task(name="create-agent", cache_policy=NO_CACHE)
def create_tool_agent(name: str, mission: str | None) -> dict[str, Any]:
    return create_agent(open_store(), name, mission).shown() | {"tools": []}


@flow(name="agents", flow_run_name=agents_run_name, validate_parameters=True)
def agents(
    action: AgentsAction,
    agent_id: str | None = None,
    build: bool = True,
    name: str | None = None,
    mission: str | None = None,
) -> dict[str, Any]:
    """List Phoenix's agents, show one, import one's repository, or create a tool agent.

    Args:
        action: list, show, import or create.
        agent_id: the agent (show, import), its id or name as `phoenix agents list` shows it.
        build: import: build the repository once imported.
        name: create: the new agent's name (letters, digits, '.', '_', '-'; unique).
        mission: create: what the agent is for (its model reads it first).
    """
    if action == "list":
        return {"items": read_agents(None)}
    if action == "create":
        return create_tool_agent(name or "", mission)
    if not agent_id or not agent_id.strip():
        raise UsageError(f"agents {action} needs an agent id (see: phoenix agents list)")
    shown = read_agents(agent_id.strip())[0]
    if action == "show":
        return shown
    record = AgentRecord.model_validate(shown)
    if action == "import":
        return _import(record, build)
    raise UsageError(f"Unknown agents action {action!r}")


def _import(record: AgentRecord, build: bool) -> dict[str, Any]:
    """The agent's repository imported (and built): from its current forge, its base branch."""
    from blocks.github import resolve_github_settings
    from phoenix.agents.cargo import offline_cargo_home
    from phoenix.ecosystem.source import token_for_url
    from phoenix.github.access import forge_access
    from phoenix.settings import load_settings

    if not record.repo_url and record.kind == "tool":
        raise BadInput(f"The agent {record.name} ({record.id}) is a tool agent: it has no code.")
    if not record.repo_url:
        raise BadInput(
            f"The agent {record.name} ({record.id}) has no repository: its spawn was {record.status}."
        )
    github = resolve_github_settings()
    access = forge_access(load_settings(), github)
    path = urlsplit(record.repo_url).path.strip("/").removesuffix(".git")
    if access.local:  # the local forge's port may have changed since the spawn
        web = access.api_url.removesuffix("/api/v3")
        url = f"{web}/{path}.git"
    else:
        url = record.repo_url.removesuffix(".git") + ".git"
    with token_for_url(url, access.token) if url.startswith("http") else nullcontext():
        result = import_and_build_repo(source=url, branch=github.base_branch, build=False)
    home = offline_cargo_home(load_settings().home / "agents" / "cargo-home")
    if home is not None:  # built as Phoenix tested it: from the Debian crate sources, offline
        ecosystem_command(command="env", repo_id=result["id"], args=[f"CARGO_HOME={home}"])
    if build:
        result = ecosystem_command(command="build", repo_id=result["id"])
    return result | {"agent_id": record.id}
