"""Pull requests over HTTP, the caller acting as the local forge's reviewer.

The same operations as `phoenix pr list|approve|merge` (`phoenix.github.pulls`): on the local forge
the API's caller is the reviewer account (not the bot that opened the PR, so its approval counts,
and it wakes the `enforce-pr` runs waiting on that PR); on GitHub a person approves on GitHub
itself (501).  Merging obeys the enforcer's gate: an approval by someone other than the author, CI
when `MANDATE_GITHUB_CI`; otherwise 409 naming the unmet condition.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from phoenix.api.models import (
    NAME,
    ApproveResponse,
    MergeRequest,
    MergeResponse,
    PullListResponse,
    error_responses,
)
from phoenix.github.access import ForgeAccess

router = APIRouter(prefix="/api/pulls", tags=["pulls"])

Owner = Annotated[str, Path(max_length=100, pattern=NAME, description="The repository's owner.")]
Repo = Annotated[str, Path(max_length=100, pattern=NAME, description="The repository's name.")]
Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="The pull request's number.")]
PULL = "/{owner}/{repo}/{number}"


def _access() -> ForgeAccess:
    """The forge of this process's settings (the local forge started if it does not run)."""
    from blocks.github import resolve_forge_access

    return resolve_forge_access()


def _pull_id(owner: str, repo: str, number: int) -> Any:
    from phoenix.github.pulls import PullId

    return PullId(owner=owner, repo=repo, number=number)


@router.get("", response_model=PullListResponse, responses=error_responses(422, 403, 502))
def list_pulls(
    state: Annotated[
        Literal["open", "closed", "all"], Query(description="Which pull requests.")
    ] = "all",
) -> Any:
    """The pull requests of every repository the bot can see, by repository then number, each
    with its CI state and who approved it."""
    from phoenix.github import pulls

    return {"items": [row.model_dump(mode="json") for row in pulls.list_pulls(_access(), state)]}


@router.post(
    f"{PULL}/approve", response_model=ApproveResponse, responses=error_responses(422, 404, 409, 501)
)
def approve(owner: Owner, repo: Repo, number: Number) -> Any:
    """Approve the pull request as the local reviewer and resume the enforcers waiting on it.

    404 for an unknown repository or pull request, 409 for one already merged or closed, 501 on
    GitHub (approve there: Phoenix holds only the bot's token).
    """
    from phoenix.github import pulls

    return pulls.approve(_access(), _pull_id(owner, repo, number))


@router.post(
    f"{PULL}/merge", response_model=MergeResponse, responses=error_responses(422, 404, 409, 502)
)
def merge(owner: Owner, repo: Repo, number: Number, body: MergeRequest | None = None) -> Any:
    """Merge the pull request as the reviewer, only when the gate allows it (409 with the unmet
    condition otherwise), and only the head the gate evaluated."""
    from blocks.github import resolve_github_settings
    from phoenix.github import pulls

    github = resolve_github_settings()
    method = body.method if body is not None and body.method else github.merge_method
    return pulls.merge(_access(), _pull_id(owner, repo, number), method, github.require_ci)
