"""Asynchronous runs: how a long operation answers 202 at once, and GET /api/runs/{run_id}.

A long operation (import with build, build, propose) asked with `?wait=false` or the header
`Prefer: respond-async` (RFC 7240) is submitted to its deployment `<flow>/phoenix`, which
`phoenix serve` (or a Prefect worker) runs, and answers `202 {run_id, status_url, ui_url}` with
`Location` and `Preference-Applied: respond-async`.  The checks of the synchronous call come first
(the import source, the repository's record, the parameters): nothing is submitted that the
synchronous call would refuse.  Short operations ignore the preference, as RFC 7240 allows.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from phoenix import deployment_runs
from phoenix.api.models import RunSubmittedResponse, error_responses
from phoenix.api.results import run_flow_response

router = APIRouter(prefix="/api/runs", tags=["runs"])

WaitQuery = Annotated[
    bool | None,
    Query(
        description="false: submit the run to its deployment and answer 202 at once"
        " (as `Prefer: respond-async`); needs `phoenix serve`."
    ),
]
PreferHeader = Annotated[
    str | None,
    Header(description="`respond-async` (RFC 7240): the same as ?wait=false."),
]


def prefers_async(request: Request, wait: bool | None) -> bool:
    """Whether the caller asked not to wait: `?wait=false`, or `Prefer: respond-async` unless
    `?wait=true` says otherwise.  Preferences are comma-separated, each with optional `;` params."""
    if wait is not None:
        return not wait
    for header in request.headers.getlist("prefer"):
        for preference in header.split(","):
            name = preference.split(";", 1)[0].split("=", 1)[0].strip().lower()
            if name == "respond-async":
                return True
    return False


async def submit_run(request: Request, flow: str, parameters: dict[str, Any]) -> JSONResponse:
    """Check `parameters` as the synchronous call would, submit the run, and answer 202."""
    checked = deployment_runs.deployment_parameters(flow, parameters)
    if flow == "ecosystem-command":
        # An unknown repository is a 404 now, not a run that fails later (its record, read by
        # the flow that owns it).
        await run_in_threadpool(
            run_flow_response, "ecosystem-command", {"command": "show", "repo_id": checked["repo_id"]}
        )
    submitted = await deployment_runs.asubmit(flow, checked)
    location = f"/api/runs/{submitted.run_id}"
    body = RunSubmittedResponse(
        run_id=submitted.run_id,
        status_url=str(request.url_for("read_run", run_id=submitted.run_id)),
        ui_url=submitted.ui_url,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=202,
        headers={"Location": location, "Preference-Applied": "respond-async", "Vary": "Prefer"},
    )


@router.get(
    "/{run_id}",
    name="read_run",
    response_model=deployment_runs.RunDocument,
    response_model_exclude_none=True,
    responses=error_responses(422, 404),
)
async def read_run(
    run_id: Annotated[uuid.UUID, Path(description="The run_id a 202 answered.")],
) -> Any:
    """A flow run's state; once finished, its result (completed) or its error (failed, crashed,
    cancelled).  404 for a run the Prefect server does not know."""
    return await deployment_runs.aread_run(run_id)
