"""Pull requests as a human reviewer sees them: list them, approve one, press Merge.

`phoenix pr list|approve|merge` act on the forge as the reviewer would on GitHub's pages: on the
local forge as the reviewer account (`PHOENIX_REVIEWER`, not the bot that opened the PR, so its
approval counts); on GitHub a person approves on GitHub itself, and Phoenix says so.  Merging here
obeys the same gate as the enforcer (`phoenix.github.gate.evaluate`): an approval from someone
other than the author is always required, CI when `MANDATE_GITHUB_CI` says so, and the merge is of
the head that was evaluated (the forge refuses it if the head moved in between).

An approval also wakes the `enforce-pr` flow runs that wait (Paused) on that PR, so the enforcer
merges at once instead of at its watcher's next look (`resume_waiting_enforcers`).

Part of the core: no `flows` or `tasks` imports; Prefect only inside functions.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, SecretStr

from phoenix.errors import BadInput, Conflict, NotAvailable, NotFound, OperationFailed
from phoenix.github.access import ForgeAccess
from phoenix.github.client import connect, pull_facts
from phoenix.github.gate import GateDecision, ci_state, evaluate, reviewers
from phoenix.github.settings import MergeMethod, load_github_settings

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest
    from github.Repository import Repository

ENFORCER_FLOW = "enforce-pr"
ACCEPTED_FORMS = "owner/repo#7, owner/repo/7 or the PR's URL (https://host/owner/repo/pull/7)"
_NAME = r"[A-Za-z0-9_.-]+"
_SHORT = re.compile(rf"^({_NAME})/({_NAME})(?:#|/)(\d+)$")
_URL_PATH = re.compile(rf"^/(?:api/v3/)?(?:repos/)?({_NAME})/({_NAME})/pulls?/(\d+)/?$")


class PullRefused(OperationFailed):
    """The enforcer did not merge a PR (refused or timed out); `document` is its whole result.

    The failed `enforce-pr` run's data: its message is the unmet condition, and whoever reads the
    run's result gets the document back (pickled by Prefect: `__reduce__` keeps the document).
    """

    code = "pr_refused"
    http_status = 409

    def __init__(self, message: str, document: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.document = document or {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.document))


class PullId(BaseModel):
    """One pull request: `owner/repo#number`."""

    owner: str
    repo: str
    number: int

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def __str__(self) -> str:
        return f"{self.full_name}#{self.number}"


class PullSummary(BaseModel):
    """A row of `phoenix pr list` (docs/design.md, "JSON shapes")."""

    id: str
    repo: str
    number: int
    state: str
    merged: bool
    head_sha: str
    ci: str
    approvals: list[str]
    title: str
    url: str


def parse_pull_id(text: str) -> PullId:
    """`owner/repo#7`, `owner/repo/7` or a PR's web or API URL; anything else is `BadInput`."""
    given = text.strip()
    match = _SHORT.match(given)
    if match is None and given.startswith(("http://", "https://")):
        match = _URL_PATH.match(urlparse(given).path)
    if match is None or int(match.group(3)) < 1:
        raise BadInput(f"{text!r} does not name a pull request; use {ACCEPTED_FORMS}")
    return PullId(owner=match.group(1), repo=match.group(2), number=int(match.group(3)))


def _as_id(pull_id: PullId | str) -> PullId:
    return pull_id if isinstance(pull_id, PullId) else parse_pull_id(pull_id)


def _client(access: ForgeAccess, token: SecretStr | None = None) -> Github:
    return connect(access.api_url, token or access.token)


def _repository(client: Github, pull_id: PullId) -> Repository:
    from github import UnknownObjectException

    try:
        return client.get_repo(pull_id.full_name)
    except UnknownObjectException:
        raise NotFound(f"No repository {pull_id.full_name} on the forge") from None


def _pull(repo: Repository, pull_id: PullId) -> PullRequest:
    from github import UnknownObjectException

    try:
        return repo.get_pull(pull_id.number)
    except UnknownObjectException:
        raise NotFound(f"No pull request {pull_id} on the forge") from None


def visible_repositories(client: Github, access: ForgeAccess) -> list[Repository]:
    """Every repository the bot can see: `GET /user/repos`, else its organisation's listing."""
    from github import GithubException

    try:
        return list(client.get_user().get_repos())
    except GithubException as error:
        if error.status not in (404, 405) or access.owner is None:
            raise
    return list(client.get_organization(access.owner).get_repos())


def summarize(repo: Repository, pull: PullRequest) -> PullSummary:
    """The row of one PR: its CI over every status and check run, and who approved it."""
    facts = pull_facts(repo, pull.number)
    ci, _ = ci_state(facts.statuses, facts.check_runs)
    approving, _ = reviewers(facts.reviews, facts.author)
    return PullSummary(
        id=f"{repo.full_name}#{pull.number}", repo=repo.full_name, number=pull.number,
        state=pull.state, merged=bool(pull.merged), head_sha=facts.head_sha, ci=ci,
        approvals=approving, title=pull.title, url=pull.html_url,
    )  # fmt: skip


def list_pulls(
    access: ForgeAccess, state: Literal["open", "closed", "all"] = "all"
) -> list[PullSummary]:
    """The pull requests of every repository the bot can see, by repository then number."""
    client = _client(access)
    rows = [
        summarize(repo, pull)
        for repo in visible_repositories(client, access)
        for pull in repo.get_pulls(state=state)
    ]
    return sorted(rows, key=lambda row: (row.repo, row.number))


def approve(access: ForgeAccess, pull_id: PullId | str, resume: bool = True) -> dict[str, Any]:
    """Approve the PR as the local forge's reviewer and wake the enforcers waiting on it.

    On GitHub the reviewer is a person with their own account: Phoenix holds only the bot's token,
    whose approval of its own PR would not count anyway.
    """
    target = _as_id(pull_id)
    if access.reviewer is None:
        raise NotAvailable(
            f"Approve {target} on GitHub (its page: Files changed → Review changes → Approve):"
            " Phoenix holds only the bot's token there, and the author's approval does not count"
        )
    client = _client(access, access.reviewer.token)
    pull = _pull(_repository(client, target), target)
    if pull.merged or pull.state != "open":
        raise Conflict(f"{target} is {'merged' if pull.merged else 'closed'}: nothing to approve")
    review = pull.create_review(event="APPROVE")
    resumed = resume_waiting_enforcers(target.full_name, target.number) if resume else []
    return {
        "id": str(target), "approved_by": access.reviewer.login, "review_id": review.id,
        "head_sha": pull.head.sha, "resumed_runs": resumed,
    }  # fmt: skip


def merge(
    access: ForgeAccess, pull_id: PullId | str, method: MergeMethod | None = None,
    require_ci: bool | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Press Merge as the reviewer: only when the gate says merge, and only the head it evaluated.

    `method` and `require_ci` default to the environment's settings (`PHOENIX_MERGE_METHOD`,
    `MANDATE_GITHUB_CI`); an approval by someone other than the author is always required.
    """
    from github import GithubException

    target = _as_id(pull_id)
    settings = load_github_settings(os.environ)
    method = method or settings.merge_method
    require_ci = settings.require_ci if require_ci is None else require_ci
    client = _client(access, access.reviewer.token if access.reviewer else None)
    repo = _repository(client, target)
    pull = _pull(repo, target)
    if pull.merged or pull.state != "open":
        raise Conflict(f"{target} is {'already merged' if pull.merged else 'closed'}")
    facts = pull_facts(repo, target.number)
    decision = evaluate(facts, require_ci=require_ci, require_approval=True)
    if decision.verdict != "merge":
        raise Conflict(f"{target} cannot be merged: {decision.reason}")
    try:
        status = pull.merge(merge_method=method, sha=facts.head_sha)
    except GithubException as error:
        raise merge_refusal(target, error) from None
    return {
        "id": str(target), "merged": True, "merge_sha": status.sha, "method": method,
        "head_sha": facts.head_sha, "merged_by": access.reviewer.login if access.reviewer else None,
        "reason": decision.reason,
    }  # fmt: skip


def merge_refusal(target: PullId | str, error: Any) -> Conflict | OperationFailed:
    """The forge's refusal of a merge as a Phoenix error that says why."""
    message = error.data.get("message") if isinstance(error.data, dict) else str(error.data)
    if error.status in (405, 409, 422):
        return Conflict(f"The forge refused to merge {target}: {message}")
    return OperationFailed(f"Merging {target} failed (HTTP {error.status}): {message}")


def deadline_of(created_at: datetime, timeout_hours: float) -> datetime:
    """When a PR opened at `created_at` stops waiting for CI and approval."""
    from datetime import UTC, timedelta

    opened = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return opened + timedelta(hours=timeout_hours)


class PullCheck(BaseModel):
    """A PR as the gate saw it at one look."""

    repo: str
    number: int
    url: str
    state: str  # open, closed
    merged: bool
    merge_sha: str | None
    head_sha: str
    created_at: datetime
    decision: GateDecision


def read_check(
    access: ForgeAccess, repo_name: str, number: int, require_ci: bool, require_approval: bool
) -> PullCheck:
    """The gate's verdict on `repo_name#number` now, with what the enforcer needs around it."""
    owner, _, name = repo_name.partition("/")
    target = PullId(owner=owner, repo=name, number=number)
    repo = _repository(_client(access), target)
    pull = _pull(repo, target)
    facts = pull_facts(repo, number)
    return PullCheck(
        repo=repo_name, number=number, url=pull.html_url, state=pull.state,
        merged=bool(pull.merged), merge_sha=pull.merge_commit_sha if pull.merged else None,
        head_sha=facts.head_sha, created_at=pull.created_at,
        decision=evaluate(facts, require_ci, require_approval),
    )  # fmt: skip


# --- the enforcers waiting in Prefect ----------------------------------------------------------


def paused_enforcers(repo: str | None = None, number: int | None = None) -> list[Any]:
    """The Paused `enforce-pr` flow runs (Prefect `FlowRun`s), of one PR when `repo` is given."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[ENFORCER_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            ),
        )
    return [
        run
        for run in runs
        if repo is None
        or (run.parameters.get("repo") == repo and int(run.parameters.get("number", 0)) == number)
    ]


def resume_waiting_enforcers(repo: str, number: int) -> list[str]:
    """Resume the Paused `enforce-pr` runs of `repo#number`; returns their ids.

    A resumed run is rescheduled, reads the PR again and merges, or pauses again if it must still
    wait (the watcher of `phoenix.enforcer_host` would resume it at its next look anyway).  A run
    whose pause expired or that another caller resumed first is skipped.
    """
    from prefect.exceptions import FlowPauseTimeout, NotPausedError
    from prefect.flow_runs import resume_flow_run

    resumed = []
    for run in paused_enforcers(repo, number):
        try:
            resume_flow_run(run.id)
        except (NotPausedError, FlowPauseTimeout, RuntimeError):
            continue
        resumed.append(str(run.id))
    return resumed
