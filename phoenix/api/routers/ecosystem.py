"""Imported repositories over HTTP, through the ecosystem flows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from phoenix.api.models import ErrorResponse
from phoenix.ecosystem.source import is_network_url
from phoenix.errors import BadInput

router = APIRouter(prefix="/api/ecosystem", tags=["ecosystem"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 422, 501)
}


class ImportRequest(BaseModel):
    """Either `url` (a git URL) or `owner` and `repo` (GitHub or GITHUB_API_URL's forge)."""

    url: str | None = Field(default=None, description="A git URL (https, ssh, file).")
    owner: str | None = None
    repo: str | None = None
    branch: str | None = Field(default=None, description="Default: the repository's default.")

    @model_validator(mode="after")
    def _one_source(self) -> ImportRequest:
        if bool(self.url) == bool(self.owner and self.repo):
            raise ValueError("give either url, or owner and repo")
        return self

    @property
    def source(self) -> str:
        return self.url or f"{self.owner}/{self.repo}"


class CommandRequest(BaseModel):
    command: str
    args: list[str] = Field(default_factory=list)


def _flow(name: str, **parameters: Any) -> Any:
    from flows import run_flow

    return run_flow(name, parameters)


@router.post("/import", responses=ERRORS)
def import_repo(request: ImportRequest) -> dict[str, Any]:
    """Clone a repository, read its build systems and commands, and record it."""
    url = request.url
    if url and not is_network_url(url):
        # The API may be reachable from other machines: it never clones the server's own folders.
        raise BadInput("Give a remote git URL (https, http, ssh, git); local folders are CLI-only")
    return _flow("import-and-build-repo", source=request.source, branch=request.branch)


@router.get("/list", responses=ERRORS)
def list_repos() -> dict[str, Any]:
    """Every imported repository."""
    return _flow("ecosystem-command", command="list")


@router.get("/{repo_id}", responses=ERRORS)
def show(repo_id: str) -> dict[str, Any]:
    """The repository's record; 404 for an unknown id."""
    return _flow("ecosystem-command", command="show", repo_id=repo_id)


@router.delete("/{repo_id}", responses=ERRORS)
def remove(repo_id: str) -> dict[str, Any]:
    """Stop its service, delete its clone and its record."""
    return _flow("ecosystem-command", command="remove", repo_id=repo_id)


@router.post("/{repo_id}/command", responses=ERRORS)
def run_command(repo_id: str, request: CommandRequest) -> dict[str, Any]:
    """Run one of the repository's discovered commands with `args` as argv (never a shell)."""
    return _flow("ecosystem-command", command=request.command, repo_id=repo_id, args=request.args)


@router.post("/{repo_id}/{verb}", responses=ERRORS)
def lifecycle(repo_id: str, verb: str) -> dict[str, Any]:
    """build, start or stop the repository."""
    if verb not in ("build", "start", "stop"):
        raise BadInput(f"Unknown action {verb!r}: use build, start or stop")
    return _flow("ecosystem-command", command=verb, repo_id=repo_id)
