"""The merge gate of a pull request: is its head's CI green, has someone other than its author
approved it — and if not, what exactly is it waiting for, or why is it refused?

The original system's enforcer merged after a fixed wait whatever CI said, and counted the bot's
own approval.  Here CI is green only when **every** commit status and **every** check run on the
PR's head succeeded (GitHub's combined status alone ignores check runs, and one green context can
hide a red one), and an approval counts only from a reviewer other than the PR's author, taking
each reviewer's latest decisive review, as GitHub does.

Pure: the enforce-pr flow reads the forge through PyGithub and hands the facts to `evaluate`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CiState = Literal["success", "pending", "failure", "none"]
Verdict = Literal["merge", "awaiting_ci", "awaiting_approval", "refused"]

_PASSING_CONCLUSIONS = {"success", "neutral", "skipped"}  # GitHub's branch protection agrees
_DECISIVE_REVIEWS = {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}


class CommitStatus(BaseModel):
    """One commit status (`POST /repos/{o}/{r}/statuses/{sha}`): the newest per context counts."""

    context: str = "default"
    state: Literal["success", "pending", "failure", "error"]


class CheckRun(BaseModel):
    """One check run on the head (`GET …/commits/{sha}/check-runs`)."""

    name: str
    status: Literal["queued", "in_progress", "completed", "waiting", "requested", "pending"]
    conclusion: str | None = None


class Review(BaseModel):
    """One review, in the order the forge lists them (oldest first)."""

    user: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING


class PullFacts(BaseModel):
    """What the gate looks at, read from the forge for the PR's current head."""

    author: str
    head_sha: str
    statuses: list[CommitStatus] = Field(default_factory=list)
    check_runs: list[CheckRun] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)


class GateDecision(BaseModel):
    verdict: Verdict
    ci: CiState
    approvals: list[str]
    reason: str  # what it waits for, why it is refused, or why it may merge


def ci_state(statuses: list[CommitStatus], check_runs: list[CheckRun]) -> tuple[CiState, str]:
    """The head's CI over every status context and every check run, and which ones decide it."""
    latest: dict[str, str] = {}
    for status in statuses:  # listed oldest first: a later status of a context replaces it
        latest[status.context] = status.state
    failing = [f"status {c} ({s})" for c, s in latest.items() if s in ("failure", "error")]
    pending = [f"status {c}" for c, s in latest.items() if s == "pending"]
    for run in check_runs:
        if run.status != "completed":
            pending.append(f"check run {run.name}")
        elif (run.conclusion or "") not in _PASSING_CONCLUSIONS:
            failing.append(f"check run {run.name} ({run.conclusion})")
    if failing:
        return "failure", ", ".join(failing)
    if pending:
        return "pending", ", ".join(pending)
    if not latest and not check_runs:
        return "none", "no CI has reported on the head yet"
    return "success", f"{len(latest)} statuses and {len(check_runs)} check runs passed"


def reviewers(reviews: list[Review], author: str) -> tuple[list[str], list[str]]:
    """(who approves, who requests changes): each reviewer's latest decisive review, not the author's."""
    decided: dict[str, str] = {}
    for review in reviews:
        if review.user != author and review.state.upper() in _DECISIVE_REVIEWS:
            decided[review.user] = review.state.upper()
    approving = sorted(u for u, s in decided.items() if s == "APPROVED")
    blocking = sorted(u for u, s in decided.items() if s == "CHANGES_REQUESTED")
    return approving, blocking


def evaluate(facts: PullFacts, require_ci: bool, require_approval: bool) -> GateDecision:
    """Merge, wait (for what), or refuse (why): a failed CI refuses; the rest waits."""
    ci, ci_detail = ci_state(facts.statuses, facts.check_runs)
    approving, blocking = reviewers(facts.reviews, facts.author)
    head = facts.head_sha[:12]
    if ci == "failure":
        return GateDecision(
            verdict="refused", ci=ci, approvals=approving,
            reason=f"CI failed on {head}: {ci_detail}",
        )  # fmt: skip
    if require_ci and ci != "success":
        return GateDecision(
            verdict="awaiting_ci", ci=ci, approvals=approving,
            reason=f"waiting for CI on {head}: {ci_detail}",
        )  # fmt: skip
    if blocking:
        return GateDecision(
            verdict="awaiting_approval", ci=ci, approvals=approving,
            reason=f"changes requested by {', '.join(blocking)}",
        )  # fmt: skip
    if require_approval and not approving:
        return GateDecision(
            verdict="awaiting_approval", ci=ci, approvals=approving,
            reason=f"waiting for an approval from someone other than {facts.author}",
        )  # fmt: skip
    why = []
    if require_ci:
        why.append(f"CI green ({ci_detail})")
    if approving:
        why.append(f"approved by {', '.join(approving)}")
    return GateDecision(
        verdict="merge", ci=ci, approvals=approving,
        reason="; ".join(why) or "no CI or approval required",
    )  # fmt: skip
