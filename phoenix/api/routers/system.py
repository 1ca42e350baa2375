"""GET /api/status and GET /api/health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from phoenix import __version__
from phoenix.api.models import EnvelopeResponse, HealthResponse, error_responses
from phoenix.api.results import run_flow_response

router = APIRouter(prefix="/api", tags=["system"])
public_router = APIRouter(prefix="/api", tags=["system"])


@public_router.get("/health", response_model=HealthResponse)
def health() -> dict[str, Any]:
    """Liveness, for load balancers and probes: no token needed, nothing touched."""
    return {"status": "ok", "version": __version__}


@router.get("/status", response_model=EnvelopeResponse, responses=error_responses())
def status() -> Any:
    """What Phoenix holds and how it is configured (the router's `status`)."""
    return run_flow_response("router", {"command": "status"})
