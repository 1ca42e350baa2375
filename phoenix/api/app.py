"""The FastAPI application: routers per resource, one bearer token, errors as JSON.

Every answer that is not a success has the body of `ErrorResponse` (`{message, code, ...}`): errors
Phoenix raises, HTTP errors of the routing itself (404, 405 with its `Allow` header), malformed
requests (422) and, should one slip through, an unexpected exception (500).
"""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from phoenix import __version__
from phoenix.api.auth import bearer_dependency
from phoenix.api.routers import (
    agents,
    command,
    ecosystem,
    flows,
    memory,
    pulls,
    runs,
    system,
    system_commands,
)
from phoenix.errors import PhoenixError

logger = logging.getLogger("phoenix.api")


def create_app(api_token: str, local_imports: bool = False) -> FastAPI:
    """The API, every route but /api/health requiring `Authorization: Bearer <api_token>`.

    Args:
        api_token: the bearer token every request but /api/health must carry.
        local_imports: whether callers may import the server's own folders.  Only the CLI's local
            service (`phoenix.daemon`) sets it; `phoenix api` imports from the network only.
    """
    app = FastAPI(
        title="Phoenix",
        version=__version__,
        description="LLM agents orchestrated by Prefect: router, propose-improvements, memory,"
        " ecosystem, spawned agents and their pull requests.  Errors are `{message, code}` with the"
        " status each route documents.",
    )
    app.state.local_imports = local_imports
    secured = [Depends(bearer_dependency(api_token))]
    app.include_router(system.public_router)
    routers = (
        system.router, command.router, memory.router, ecosystem.router, flows.router, runs.router,
        agents.router, pulls.router, system_commands.router,
    )  # fmt: skip
    for router in routers:
        app.include_router(router, dependencies=secured)
    routes = [
        route
        for router in (system.public_router, *routers)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]

    def allowed_methods(path: str) -> str:
        """Every method some route serves at `path`: Starlette's own `Allow` names only those of
        the first route that matched (GET /api/ecosystem/{id} hid its DELETE)."""
        return ", ".join(sorted({m for r in routes if r.path_regex.match(path) for m in r.methods}))

    @app.exception_handler(PhoenixError)
    async def phoenix_error(request: Request, error: PhoenixError) -> JSONResponse:
        return JSONResponse(
            {"message": error.message, "code": error.code}, status_code=error.http_status
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = allowed_methods(request.scope["path"])
        return JSONResponse(
            {"message": str(error.detail), "code": f"http_{error.status_code}"},
            status_code=error.status_code,
            headers=headers,
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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("Unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"message": "Internal error (see the API's log)", "code": "failed"}, status_code=500
        )

    return app
