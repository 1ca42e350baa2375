"""The merge gate: every status and check run must pass; approvals count from others only."""

from __future__ import annotations

import pytest

from phoenix.github.gate import CheckRun, CommitStatus, PullFacts, Review, evaluate

HEAD = "0123456789abcdef0123"


def facts(statuses=(), runs=(), reviews=(), author="phoenix-bot") -> PullFacts:
    return PullFacts(
        author=author, head_sha=HEAD,
        statuses=[CommitStatus(context=c, state=s) for c, s in statuses],
        check_runs=[CheckRun(name=n, status=st, conclusion=co) for n, st, co in runs],
        reviews=[Review(user=u, state=s) for u, s in reviews],
    )  # fmt: skip


GREEN = facts(statuses=[("ci/tests", "success")], runs=[("build", "completed", "success")])


def test_green_ci_and_anothers_approval_merges() -> None:
    decision = evaluate(
        GREEN.model_copy(update={"reviews": [Review(user="alice", state="APPROVED")]}), True, True
    )
    assert decision.verdict == "merge" and decision.approvals == ["alice"]
    assert "approved by alice" in decision.reason and "CI green" in decision.reason


def test_the_authors_own_approval_does_not_count() -> None:
    decision = evaluate(GREEN.model_copy(update={"reviews": [Review(user="phoenix-bot",
                                                                    state="APPROVED")]}),
                        True, True)  # fmt: skip
    assert decision.verdict == "awaiting_approval" and decision.approvals == []
    assert "someone other than phoenix-bot" in decision.reason


@pytest.mark.parametrize(
    ("case", "verdict", "reason"),
    [
        (facts(statuses=[("ci/tests", "success"), ("lint", "failure")]), "refused", "status lint"),
        (facts(statuses=[("ci", "pending"), ("ci", "error")]), "refused", "status ci (error)"),
        (facts(statuses=[("ci", "failure"), ("ci", "success")]), "awaiting_approval", "other"),
        (facts(statuses=[("ci", "success")], runs=[("build", "completed", "failure")]), "refused",
         "check run build (failure)"),
        (facts(statuses=[("ci", "success")], runs=[("build", "in_progress", None)]), "awaiting_ci",
         "check run build"),
        (facts(), "awaiting_ci", "no CI has reported"),
        (facts(statuses=[("ci", "pending")]), "awaiting_ci", "status ci"),
        (facts(runs=[("docs", "completed", "skipped")], reviews=[("bob", "APPROVED")]), "merge",
         "approved by bob"),
    ],
)  # fmt: skip
def test_ci_is_green_only_when_every_status_and_check_run_passed(
    case: PullFacts, verdict: str, reason: str
) -> None:
    decision = evaluate(case, require_ci=True, require_approval=True)
    assert decision.verdict == verdict
    assert reason in decision.reason


def test_each_reviewers_latest_decisive_review_counts() -> None:
    later_approved = facts(reviews=[("bob", "CHANGES_REQUESTED"), ("bob", "COMMENTED"),
                                    ("bob", "APPROVED")])  # fmt: skip
    assert evaluate(later_approved, False, True).verdict == "merge"
    blocked = facts(reviews=[("bob", "APPROVED"), ("carol", "CHANGES_REQUESTED")])
    decision = evaluate(blocked, False, True)
    assert decision.verdict == "awaiting_approval"
    assert decision.reason == "changes requested by carol"
    dismissed = facts(reviews=[("bob", "APPROVED"), ("bob", "DISMISSED")])
    assert evaluate(dismissed, False, True).verdict == "awaiting_approval"


def test_nothing_required_merges_but_a_red_ci_still_refuses() -> None:
    assert evaluate(facts(), False, False).verdict == "merge"
    assert evaluate(facts(statuses=[("ci", "failure")]), False, False).verdict == "refused"
