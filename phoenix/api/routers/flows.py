"""POST /api/flows/{name}/run: run a flow and wait for its result (how the CLI uses the service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from phoenix.api.models import ErrorResponse

router = APIRouter(prefix="/api/flows", tags=["flows"])


@router.post(
    "/{name}/run",
    responses={status: {"model": ErrorResponse} for status in (400, 401, 404, 422, 502)},
)
def run(name: str, parameters: dict[str, Any] = Body(default_factory=dict)) -> Any:
    """Run `router`, `memory`, `speak` or `propose-improvements` with these parameters."""
    from flows import run_flow

    return run_flow(name, parameters)
