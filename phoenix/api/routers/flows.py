"""POST /api/flows/{name}/run: run a flow and wait for its result (how the CLI uses the service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request

from phoenix.api.models import async_responses
from phoenix.api.results import run_flow_response
from phoenix.api.routers.ecosystem import importable_source
from phoenix.api.routers.runs import PreferHeader, WaitQuery, prefers_async, submit_run
from phoenix.cancellation import run_until_disconnected
from phoenix.deployment_runs import is_long

router = APIRouter(prefix="/api/flows", tags=["flows"])


@router.post(
    "/{name}/run",
    response_model=dict[str, Any],
    responses=async_responses(422, 400, 403, 404, 409, 501, 502),
)
async def run(
    request: Request,
    name: Annotated[str, Path(min_length=1, max_length=100, description="A flow's name.")],
    parameters: Annotated[dict[str, Any], Body(default_factory=dict)],
    wait: WaitQuery = None,
    prefer: PreferHeader = None,  # noqa: ARG001 - documented here, read by prefers_async
) -> Any:
    """Run `router`, `memory`, `speak`, `propose-improvements`, `import-and-build-repo` or
    `ecosystem-command` with these parameters.

    `import-and-build-repo` takes only what `POST /api/ecosystem/import` takes: a network git URL
    or owner/repo as `source`.  The long ones — propose, an import that builds, the ecosystem's
    `build` — answer 202 at once with `?wait=false` or `Prefer: respond-async`; the others ignore
    the preference and answer when done.
    """
    if name == "import-and-build-repo" and not request.app.state.local_imports:
        parameters = parameters | {"source": importable_source(request, parameters.get("source"))}
    if prefers_async(request, wait) and is_long(name, parameters):
        return await submit_run(request, name, parameters)
    # In a worker thread, cancelled if the client goes away (a Ctrl-C on the CLI): the flow run
    # ends Cancelled instead of running on for nobody.
    return await run_until_disconnected(request.receive, run_flow_response, name, parameters)
