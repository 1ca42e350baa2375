"""POST /api/command and POST /api/speak: the router flow over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from phoenix.api.models import CommandRequest, EnvelopeResponse, SpeakRequest, error_responses
from phoenix.api.results import run_flow_response

router = APIRouter(prefix="/api", tags=["command"])


@router.post(
    "/command",
    response_model=EnvelopeResponse,
    responses=error_responses(422, 400, 404, 409, 501, 502),
)
def run_command(request: CommandRequest) -> Any:
    """Run one router command (`help` lists them) and return its envelope.

    The router's grammar cannot import a repository, so this route needs no import check.
    """
    return run_flow_response("router", {"command": request.command})


@router.post("/speak", response_model=EnvelopeResponse, responses=error_responses(422, 400, 502))
def speak(request: SpeakRequest) -> Any:
    """Talk to the LLM: the turn is answered with what its conversation remembers, then kept."""
    parameters = {"user_input": request.user_input}
    if request.conversation and request.conversation.strip():
        parameters["conversation"] = request.conversation.strip()
    return run_flow_response("speak", parameters)
