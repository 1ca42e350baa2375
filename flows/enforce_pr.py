"""enforce-pr: carry one pull request to a merge only when its gate allows it.

CI is green only when every commit status and check run on the head succeeded (required with
`MANDATE_GITHUB_CI`); an approval counts only from someone other than the author (required with
`REQUIRE_HUMAN_PR_APPROVAL`); `phoenix.github.gate.evaluate` decides.  Before merging the flow
reads the head again and merges exactly the head it evaluated: a head that moved is evaluated
again, never merged unseen.

While it must wait, a run of the deployment `enforce-pr/phoenix` *suspends* (Prefect's
`suspend_flow_run`): its process ends, the run shows as Paused in the UI, and it runs again from the
top when resumed — by the UI's Resume button, by `phoenix pr approve`, or by the watcher of the
local Phoenix service (`phoenix.enforcer_host`), which resumes it once its verdict changes or its
deadline (the PR's creation + `timeout_hours`) passes.  Called outside a deployment (in-process, a
test) it never holds the process: it returns the awaiting document at once.

The result is always the document `{"repo", "number", "pr_url", "status", "reason", "head_sha",
"ci", "approvals", "merge_sha"}`, status merged, refused, timed_out, awaiting_ci or
awaiting_approval.  A refusal or a timeout ends the run **Failed** — red in the UI, its state
message the reason — and the failed state's data is `PullRefused(reason, document)`: a caller
holding the state reads it with `state.result(raise_on_failure=False)` and takes `.document`
(`run_enforcer`, `hand_to_enforcer` do; the latter from Prefect's result storage); `phoenix runs
show` prints the reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.states import Failed, State

from blocks.github import resolve_github_settings
from phoenix.github.pulls import PullRefused, deadline_of
from tasks.github import (
    PullCheck,
    merge_pull,
    publish_gate,
    read_pull_gate,
    record_agent_status,
)

GRACE_S = 300
"""How long past its deadline a Paused run may wait for the watcher before Prefect fails it."""
MAX_LOOKS = 10
"""Bound on a head that keeps moving between evaluation and merge."""
WAITING = ("awaiting_ci", "awaiting_approval")
WAITING_FOR = {"awaiting_ci": "CI", "awaiting_approval": "an approval"}


def enforce_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    return f"enforce-pr: {parameters.get('repo')}#{parameters.get('number')}"


def _document(
    check: PullCheck, status: str, reason: str, merge_sha: str | None = None
) -> dict[str, Any]:
    return {
        "repo": check.repo, "number": check.number, "pr_url": check.url, "status": status,
        "reason": reason, "head_sha": check.head_sha, "ci": check.decision.ci,
        "approvals": check.decision.approvals, "merge_sha": merge_sha,
    }  # fmt: skip


def in_deployment() -> bool:
    """Whether this run belongs to a deployment (only then can it suspend and be rescheduled)."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


@flow(name="enforce-pr", flow_run_name=enforce_run_name, validate_parameters=True)
def enforce_pr(
    repo: str,
    number: int,
    require_ci: bool | None = None,
    require_approval: bool | None = None,
    merge_method: Literal["merge", "squash", "rebase"] | None = None,
    timeout_hours: float | None = None,
    agent_id: str | None = None,
) -> dict[str, Any] | State[Any]:
    """Merge a pull request once CI passes and a reviewer other than its author approved it.

    Args:
        repo: the repository, `owner/name`, on the forge of this environment (GitHub with
            GITHUB_PAT, else the local forge).
        number: the pull request's number.
        require_ci: every commit status and check run on the head must pass; empty:
            MANDATE_GITHUB_CI.
        require_approval: someone other than the author must approve; empty:
            REQUIRE_HUMAN_PR_APPROVAL.
        merge_method: merge, squash or rebase; empty: PHOENIX_MERGE_METHOD.
        timeout_hours: give up this many hours after the PR was opened; empty:
            PR_APPROVAL_TIMEOUT_HOURS.
        agent_id: the spawned agent whose record follows this PR's status (optional).
    """
    github = resolve_github_settings()
    ci = github.require_ci if require_ci is None else require_ci
    approval = github.require_approval if require_approval is None else require_approval
    method = merge_method or github.merge_method
    hours = github.approval_timeout_hours if timeout_hours is None else timeout_hours
    logger = get_run_logger()

    for _ in range(MAX_LOOKS):
        check = read_pull_gate(repo, number, ci, approval)
        deadline = deadline_of(check.created_at, hours)
        decision = check.decision
        if check.merged:
            document = _document(check, "merged", "already merged", check.merge_sha)
        elif check.state != "open":
            document = _document(check, "refused", "the pull request was closed without merging")
        elif decision.verdict == "merge":
            outcome = merge_pull(repo, number, check.head_sha, method)
            if outcome.head_moved:
                logger.info("The head of %s#%s moved before the merge; evaluating again", repo, number)
                continue
            document = (
                _document(check, "merged", decision.reason, outcome.merge_sha)
                if outcome.merged
                else _document(check, "refused", outcome.refusal or "the forge refused the merge")
            )
        elif decision.verdict == "refused":
            document = _document(check, "refused", decision.reason)
        elif datetime.now(UTC) >= deadline:
            document = _document(
                check, "timed_out",
                f"timed out after {hours:g} h waiting for {WAITING_FOR[decision.verdict]}:"
                f" {decision.reason}",
            )  # fmt: skip
        else:
            document = _document(check, decision.verdict, decision.reason)
        publish_gate(check, document, deadline)
        if agent_id:
            record_agent_status(agent_id, document["status"], None if document["status"] == "merged"
                                else document["reason"])  # fmt: skip
        if document["status"] not in WAITING:
            return _final(document)
        if not in_deployment():
            return document  # never hold a process: a caller without a runner gets the wait
        seconds = int((deadline - datetime.now(UTC)).total_seconds()) + GRACE_S
        logger.info("%s#%s: %s; suspending until resumed", repo, number, decision.reason)
        # The key says what the run waits for (the watcher compares the verdict with it) and is
        # new each time, so a run resumed and still waiting suspends again.
        suspend_flow_run(timeout=max(seconds, 1), key=f"{decision.verdict}:{uuid.uuid4().hex}")
    return _final(_document(check, "refused", f"the head kept moving ({MAX_LOOKS} looks)"))


def _final(document: dict[str, Any]) -> dict[str, Any] | State[Any]:
    """Merged: the document; refused or timed out: a Failed state holding it, its message the reason."""
    if document["status"] == "merged":
        return document
    get_run_logger().error("%s#%s not merged: %s", document["repo"], document["number"],
                           document["reason"])  # fmt: skip
    return Failed(message=document["reason"], data=PullRefused(document["reason"], document))


def run_enforcer(**parameters: Any) -> dict[str, Any]:
    """Run `enforce-pr` in this process and return its document, refused or not."""
    state = enforce_pr(**parameters, return_state=True)
    result = state.result(raise_on_failure=False)
    return result.document if isinstance(result, PullRefused) else result  # type: ignore[no-any-return]
