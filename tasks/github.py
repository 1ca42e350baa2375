"""Tasks on a pull request of the forge: read what its merge gate needs, merge it, hand it to the
enforcer, and show the gate's state in the Prefect UI.

The forge's address and token come from `blocks.github.resolve_forge_access()`
inside each task: credentials are never a task or flow parameter, so Prefect never stores or shows
them (docs/design.md §4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from blocks.github import resolve_forge_access
from phoenix.github.pulls import PullCheck, PullId, merge_refusal, read_check
from phoenix.github.settings import MergeMethod
from phoenix.store import open_store
from phoenix.store.agents import get_agent, save_agent
from tasks.artifacts import artifact_key, code


class MergeOutcome(BaseModel):
    merged: bool
    merge_sha: str | None = None
    head_moved: bool = False  # the head changed after it was evaluated: evaluate again
    refusal: str | None = None  # the forge refused for another reason


def _pull_id(repo: str, number: int) -> PullId:
    owner, _, name = repo.partition("/")
    return PullId(owner=owner, repo=name, number=number)


@task(name="read-pull-gate", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def read_pull_gate(repo: str, number: int, require_ci: bool, require_approval: bool) -> PullCheck:
    """Read the PR's head, statuses, check runs and reviews, and evaluate its merge gate."""
    return read_check(resolve_forge_access(), repo, number, require_ci, require_approval)


@task(name="merge-pull", cache_policy=NO_CACHE)
def merge_pull(repo: str, number: int, head_sha: str, method: MergeMethod) -> MergeOutcome:
    """Merge exactly `head_sha`: the forge refuses (409) if the head moved since it was evaluated."""
    from github import GithubException

    from phoenix.github.client import connect

    access = resolve_forge_access()
    pull = connect(access.api_url, access.token).get_repo(repo).get_pull(number)
    if pull.head.sha != head_sha:
        return MergeOutcome(merged=False, head_moved=True)
    try:
        status = pull.merge(merge_method=method, sha=head_sha)
    except GithubException as error:
        if error.status == 409:
            return MergeOutcome(merged=False, head_moved=True)
        return MergeOutcome(merged=False, refusal=merge_refusal(_pull_id(repo, number), error).message)
    return MergeOutcome(merged=bool(status.merged), merge_sha=status.sha)


@task(name="record-agent-pr-status", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def record_agent_status(agent_id: str, status: str, reason: str | None) -> None:
    """The spawned agent's record follows its PR: awaiting_*, merged, refused or timed_out.

    What it waits for, or why it was refused, goes in the record's `error` field (what
    `phoenix agents show` and the spawn's `waiting_for` read).
    """
    store = open_store()
    record = get_agent(store, agent_id)
    save_agent(store, record.model_copy(update={"status": status, "error": reason}))


def gate_markdown(check: PullCheck, document: dict[str, Any], deadline: datetime) -> str:
    decision = check.decision
    return "\n".join(
        [
            f"# Pull request {check.repo}#{check.number}",
            "",
            f"[{check.url}]({check.url})",
            "",
            "| | |",
            "|---|---|",
            f"| status | **{document['status']}** |",
            f"| gate verdict | {decision.verdict} |",
            f"| reason | {decision.reason.replace('|', '/')} |",
            f"| head | {code(check.head_sha[:12])} |",
            f"| CI | {decision.ci} |",
            f"| approvals | {', '.join(decision.approvals) or 'none'} |",
            f"| deadline | {deadline.isoformat(timespec='seconds')} |",
            f"| merge commit | {code(document.get('merge_sha') or '')} |",
        ]
    )


@task(name="publish-pr-gate", cache_policy=NO_CACHE)
def publish_gate(check: PullCheck, document: dict[str, Any], deadline: datetime) -> None:
    """The gate's state at this look, as the artifact `pr-<repo>-<number>` (its history per look)."""
    create_markdown_artifact(
        gate_markdown(check, document, deadline),
        key=artifact_key("pr", f"{check.repo}-{check.number}"),
        description=f"Merge gate of {check.repo}#{check.number}: {document['status']}",
    )


@task(name="start-enforcer", cache_policy=NO_CACHE)
def start_enforcer(parameters: dict[str, Any], wait_s: float) -> dict[str, Any]:
    """Hand the PR to a served `enforce-pr` run, and return once it pauses or finishes.

    The run goes on waiting on its own (Paused in the UI) in the local Phoenix service's runner;
    what is returned is the enforcer's document: awaiting_*, merged, refused or timed_out.
    """
    from phoenix.enforcer_host import hand_to_enforcer

    return hand_to_enforcer(parameters, wait_s)
