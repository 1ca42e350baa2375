"""Spawned agents over HTTP: spawn one, list them, show one, import one into the ecosystem.

A spawn is a long operation (the LLM, `cargo test` with repairs, a repository and a pull request):
it answers once the spawn reaches a resting state (merged, pushed, aborted, or a pull request
waiting, with what it waits for), or at once with 202 under `?wait=false` / `Prefer:
respond-async`.  Code that still fails its tests answers 502 `spawn_aborted` with the agent's
record, so a caller sees which model wrote it and that nothing was published.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from phoenix.api.ids import register_id
from phoenix.api.models import (
    AGENT_ID,
    AgentImportRequest,
    AgentListResponse,
    AgentResponse,
    RepoResponse,
    SpawnRequest,
    SpawnResponse,
    async_responses,
    error_responses,
)
from phoenix.api.results import run_flow_response
from phoenix.api.routers.runs import PreferHeader, WaitQuery, prefers_async, submit_run
from phoenix.deployment_runs import deployment_parameters

router = APIRouter(prefix="/api/agents", tags=["agents"])

AgentId = Annotated[str, Path(pattern=AGENT_ID, description="The id `GET /api/agents` shows.")]
register_id("agent_id", AGENT_ID)  # phoenix.api.ids: fixed routes beside it are never ids


def _agents(action: str, agent_id: str | None = None, **parameters: Any) -> Any:
    return run_flow_response("agents", {"action": action, "agent_id": agent_id, **parameters})


@router.post("/spawn", response_model=SpawnResponse, responses=async_responses(422, 400, 403, 409, 502))
async def spawn(
    request: Request,
    body: SpawnRequest,
    wait: WaitQuery = None,
    prefer: PreferHeader = None,  # noqa: ARG001 - documented here, read by prefers_async
) -> Any:
    """Have the LLM write a Rust agent; test it, publish it, and open its pull request.

    Answers the agent's record once the spawn rests: `merged`, `pushed`, or `awaiting_ci` /
    `awaiting_approval` (`waiting_for` names the unmet conditions; the enforcer goes on waiting on
    its own).  502 `spawn_aborted` with the record when the code still fails `cargo test` after its
    repairs (nothing is published) or the pull request is refused.  400 for a name or description
    with no letters or digits.  `?wait=false` or `Prefer: respond-async`: 202 at once.
    """
    parameters = deployment_parameters(
        "spawn-agent", {"description": body.description, "name": body.name, "tier": body.tier}
    )  # the name's checks first, whichever way the spawn runs
    if prefers_async(request, wait):
        return await submit_run(request, "spawn-agent", parameters)
    return await run_in_threadpool(run_flow_response, "spawn-agent", parameters)


@router.get("", response_model=AgentListResponse, responses=error_responses())
def list_agents() -> Any:
    """Every agent Phoenix has spawned, oldest first."""
    return _agents("list")


@router.get("/{agent_id:agent_id}", response_model=AgentResponse, responses=error_responses(422, 404))
def show(agent_id: AgentId) -> Any:
    """The agent's record: its repository, pull request, test report and status; 404 if unknown."""
    return _agents("show", agent_id)


@router.post(
    "/{agent_id:agent_id}/import",
    response_model=RepoResponse,
    responses=error_responses(422, 400, 403, 404, 409, 502),
)
def import_agent(agent_id: AgentId, body: AgentImportRequest | None = None) -> Any:
    """Import the agent's repository (its base branch) into the ecosystem; build it if asked.

    400 for an agent with no repository (its spawn aborted); a failed build answers 502 with the
    repository's record.
    """
    build = body.build if body is not None else False
    return _agents("import", agent_id, build=build)
