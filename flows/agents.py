"""agents: the agents Phoenix has made — list them, show one, import one into the ecosystem.

Every spawned agent has a row in DuckDB's `agents` table (written by spawn-agent and enforce-pr);
this flow is how the CLI and the HTTP API read it.  `import` is the original system's
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
from phoenix.store.agents import AgentRecord, get_agent, list_agents

AgentsAction = Literal["list", "show", "import"]


def agents_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = dict(flow_run.parameters or {})
    subject = parameters.get("agent_id") or ""
    return f"agents {parameters.get('action', '')} {shorten(subject, 30)}".rstrip()


@task(name="read-agents", cache_policy=NO_CACHE)
def read_agents(agent_id: str | None) -> list[AgentRecord]:
    store = open_store()
    return [get_agent(store, agent_id)] if agent_id else list_agents(store)


@flow(name="agents", flow_run_name=agents_run_name, validate_parameters=True)
def agents(action: AgentsAction, agent_id: str | None = None, build: bool = True) -> dict[str, Any]:
    """List Phoenix's agents, show one, or import one's repository into the ecosystem.

    Args:
        action: list, show or import.
        agent_id: the agent (show, import), as `phoenix agents list` shows it.
        build: import: build the repository once imported.
    """
    if action == "list":
        return {"items": [record.shown() for record in read_agents(None)]}
    if not agent_id or not agent_id.strip():
        raise UsageError(f"agents {action} needs an agent id (see: phoenix agents list)")
    record = read_agents(agent_id.strip())[0]
    if action == "show":
        return record.shown()
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
