"""Imported repositories over HTTP, through the ecosystem flows.

Every verb has a route of its own (`/build`, `/start`, `/stop`), so the OpenAPI document lists what
exists and a wrong method gets a 405 whose `Allow` header names the documented ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from phoenix.api.ids import register_id
from phoenix.api.models import (
    REPO_ID,
    ImportRequest,
    RepoCommandRequest,
    RepoCommandResponse,
    RepoListResponse,
    RepoResponse,
    async_responses,
    error_responses,
)
from phoenix.api.results import run_flow_response
from phoenix.api.routers.runs import PreferHeader, WaitQuery, prefers_async, submit_run
from phoenix.ecosystem.source import check_remote_import

router = APIRouter(prefix="/api/ecosystem", tags=["ecosystem"])

RepoId = Annotated[str, Path(pattern=REPO_ID, description="The id `list` shows.")]
register_id("repo_id", REPO_ID)  # phoenix.api.ids: fixed routes beside it are never ids


def importable_source(
    request: Request, source: Any = None, owner: str | None = None, repo: str | None = None
) -> str:
    """The source to give the import flow, asked of `check_remote_import` unless this app is the
    CLI's own local service, whose caller is the local user (`create_app(local_imports=True)`)."""
    if request.app.state.local_imports:
        return source if source is not None else f"{owner}/{repo}"
    if source is not None and not isinstance(source, str):
        source = ""  # not text: refused below like any other unusable source
    return check_remote_import(source, owner, repo)


def _ecosystem(command: str, repo_id: str | None = None, **parameters: Any) -> Any:
    return run_flow_response("ecosystem-command", {"command": command, "repo_id": repo_id, **parameters})


@router.post(
    "/import",
    response_model=RepoResponse,
    responses=async_responses(422, 400, 403, 404, 409, 502),
)
async def import_repo(
    request: Request,
    body: ImportRequest,
    wait: WaitQuery = None,
    prefer: PreferHeader = None,  # noqa: ARG001 - documented here, read by prefers_async
) -> Any:
    """Clone a repository, read its build systems and commands, and record it.

    Only a network git URL or owner/repo: the server's own folders are never imported over HTTP.
    It imports only, unless `build` is true (then a failed build answers 502 with the record).
    With `build` true, `?wait=false` or `Prefer: respond-async` answers 202 at once (a URL with a
    credential is then refused: use GITHUB_PAT); an import alone always answers when done.
    """
    source = importable_source(request, body.url, body.owner, body.repo)
    parameters = {"source": source, "branch": body.branch, "build": body.build}
    if body.build and prefers_async(request, wait):
        return await submit_run(request, "import-and-build-repo", parameters)
    return await run_in_threadpool(run_flow_response, "import-and-build-repo", parameters)


@router.get("/list", response_model=RepoListResponse, responses=error_responses())
def list_repos() -> Any:
    """Every imported repository."""
    return _ecosystem("list")


@router.get("/{repo_id:repo_id}", response_model=RepoResponse, responses=error_responses(422, 404))
def show(repo_id: RepoId) -> Any:
    """The repository's record; 404 for an unknown id (or one that is not an id)."""
    return _ecosystem("show", repo_id)


@router.delete("/{repo_id:repo_id}", response_model=RepoResponse, responses=error_responses(422, 404))
def remove(repo_id: RepoId) -> Any:
    """Stop its service, delete its clone and its record."""
    return _ecosystem("remove", repo_id)


@router.post(
    "/{repo_id:repo_id}/build", response_model=RepoResponse, responses=async_responses(422, 404, 502)
)
async def build(
    request: Request,
    repo_id: RepoId,
    wait: WaitQuery = None,
    prefer: PreferHeader = None,  # noqa: ARG001 - documented here, read by prefers_async
) -> Any:
    """Build the repository; a failed build answers 502 with the record (status, reason, log).

    `?wait=false` or `Prefer: respond-async`: 202 at once (404 first for an unknown id).
    """
    if prefers_async(request, wait):
        return await submit_run(request, "ecosystem-command", {"command": "build", "repo_id": repo_id})
    return await run_in_threadpool(_ecosystem, "build", repo_id)


@router.post(
    "/{repo_id:repo_id}/start",
    response_model=RepoResponse,
    responses=error_responses(422, 400, 404, 409),
)
def start(repo_id: RepoId) -> Any:
    """Start its service with a free `$PORT`; 409 if it already runs."""
    return _ecosystem("start", repo_id)


@router.post("/{repo_id:repo_id}/stop", response_model=RepoResponse, responses=error_responses(422, 404))
def stop(repo_id: RepoId) -> Any:
    """Stop its service and every process the service started."""
    return _ecosystem("stop", repo_id)


@router.post(
    "/{repo_id:repo_id}/command",
    response_model=RepoCommandResponse,
    responses=error_responses(422, 400, 404, 502),
)
def run_command(repo_id: RepoId, body: RepoCommandRequest) -> Any:
    """Run one of the repository's discovered commands with `args` as argv (never a shell)."""
    return _ecosystem(body.command, repo_id, args=body.args)
