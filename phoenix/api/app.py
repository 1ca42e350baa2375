"""The FastAPI application: routers per resource, one bearer token, errors as JSON."""

from __future__ import annotations

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from phoenix import __version__
from phoenix.api.auth import bearer_dependency
from phoenix.api.routers import command, ecosystem, flows, memory, system
from phoenix.errors import PhoenixError


def create_app(api_token: str) -> FastAPI:
    """The API, every route but /api/health requiring `Authorization: Bearer <api_token>`."""
    app = FastAPI(
        title="Phoenix",
        version=__version__,
        description="LLM agents orchestrated by Prefect: router, propose-improvements, memory.",
    )
    secured = [Depends(bearer_dependency(api_token))]
    app.include_router(system.public_router)
    app.include_router(system.router, dependencies=secured)
    app.include_router(command.router, dependencies=secured)
    app.include_router(memory.router, dependencies=secured)
    app.include_router(ecosystem.router, dependencies=secured)
    app.include_router(flows.router, dependencies=secured)

    @app.exception_handler(PhoenixError)
    async def phoenix_error(request: Request, error: PhoenixError) -> JSONResponse:
        return JSONResponse(
            {"message": error.message, "code": error.code}, status_code=error.http_status
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"message": str(error.detail), "code": f"http_{error.status_code}"},
            status_code=error.status_code,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return JSONResponse(
            {
                "message": f"Malformed request: {problems}",
                "code": "malformed",
                "detail": jsonable_encoder(error.errors()),
            },
            status_code=422,
        )

    return app
