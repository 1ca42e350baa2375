"""POST /api/flows/{name}/run: run a flow and wait for its result (how the CLI uses the service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request

from phoenix.api.models import error_responses
from phoenix.api.results import run_flow_response
from phoenix.api.routers.ecosystem import importable_source
from phoenix.cancellation import run_until_disconnected

router = APIRouter(prefix="/api/flows", tags=["flows"])


@router.post(
    "/{name}/run",
    response_model=dict[str, Any],
    responses=error_responses(422, 400, 403, 404, 409, 501, 502),
)
async def run(
    request: Request,
    name: Annotated[str, Path(min_length=1, max_length=100, description="A flow's name.")],
    parameters: Annotated[dict[str, Any], Body(default_factory=dict)],
) -> Any:
    """Run `router`, `memory`, `speak`, `propose-improvements`, `import-and-build-repo` or
    `ecosystem-command` with these parameters.

    `import-and-build-repo` takes only what `POST /api/ecosystem/import` takes: a network git URL
    or owner/repo as `source`.
    """
    if name == "import-and-build-repo" and not request.app.state.local_imports:
        parameters = parameters | {"source": importable_source(request, parameters.get("source"))}
    # In a worker thread, cancelled if the client goes away (a Ctrl-C on the CLI): the flow run
    # ends Cancelled instead of running on for nobody.
    return await run_until_disconnected(request.receive, run_flow_response, name, parameters)
