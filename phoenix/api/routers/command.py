"""POST /api/command and POST /api/speak: the router flow over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from phoenix.api.models import CommandRequest, EnvelopeResponse, ErrorResponse, SpeakRequest
from phoenix.errors import BadInput, http_status_for

router = APIRouter(prefix="/api", tags=["command"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 409, 422, 501, 502)
}


def envelope_response(envelope: dict[str, Any]) -> JSONResponse:
    """The envelope with a fitting status: 200, or the error's own status."""
    status = http_status_for(envelope["code"]) if envelope.get("type") == "error" else 200
    return JSONResponse(envelope, status_code=status)


@router.post("/command", response_model=EnvelopeResponse, responses=ERRORS)
def run_command(request: CommandRequest) -> JSONResponse:
    """Run one router command (`help` lists them) and return its envelope."""
    from flows import run_flow

    if not request.command.strip():
        raise BadInput("The command is empty. Try 'help'.")
    return envelope_response(run_flow("router", {"command": request.command}))


@router.post("/speak", response_model=EnvelopeResponse, responses=ERRORS)
def speak(request: SpeakRequest) -> JSONResponse:
    """Talk to the LLM; the exchange is kept as an episodic memory."""
    from flows import run_flow

    return envelope_response(run_flow("speak", {"user_input": request.user_input}))
