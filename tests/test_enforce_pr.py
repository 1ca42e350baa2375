"""The enforcer end to end: served `enforce-pr` runs of the local Phoenix service against the local
forge over real HTTP — paused while a PR waits (Paused in Prefect), resumed by an approval or by the
service's watcher, merged only through the gate, refused naming the unmet condition, timed out, and
still merging after the service restarted.  No credential reaches Prefect's parameters or logs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)

from phoenix import daemon
from phoenix.enforcer_host import ensure_enforcer_served, hand_to_enforcer, watch_once
from phoenix.github.access import ForgeAccess, local_forge_access
from phoenix.github.client import connect
from phoenix.github.pulls import PullRefused, approve
from phoenix.settings import PhoenixSettings, load_settings
from tasks.artifacts import artifact_key
from tests.conftest import require_tool, wait_for
from tests.forge_pulls import ForgePulls

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class Bench(ForgePulls):
    """The module's home: a forge, its bot and reviewer, and a local service hosting the enforcer."""

    def __init__(self, settings: PhoenixSettings, access: ForgeAccess, work: Path) -> None:
        super().__init__(access, work)
        self.settings = settings

    def open_pull(self, private: bool = False, prefix: str = "agent") -> tuple[Any, Any]:
        return super().open_pull(private, prefix)

    def secrets(self) -> list[str]:
        assert self.access.reviewer is not None
        return [self.access.token.get_secret_value(), self.access.reviewer.token.get_secret_value()]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    require_tool("git")
    from phoenix.forge.server import stop_forge

    home = tmp_path_factory.mktemp("enforce-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PHOENIX_HOME", str(home))
        patch.setenv("PHOENIX_PR_WATCH_SECONDS", "1")
        patch.setenv("PREFECT_LOGGING_LEVEL", "INFO")  # the service's runs log what they do
        for name in ("GITHUB_PAT", "MANDATE_GITHUB_CI", "REQUIRE_HUMAN_PR_APPROVAL"):
            patch.delenv(name, raising=False)
        settings = load_settings()
        try:
            access = local_forge_access(settings)
            ensure_enforcer_served(settings)
            yield Bench(settings, access, tmp_path_factory.mktemp("enforce-work"))
        finally:
            daemon.stop(settings)
            stop_forge(settings)


def flow_run(run_id: str) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(uuid.UUID(run_id))


def state_of(run_id: str) -> str:
    run = flow_run(run_id)
    return run.state.type.value if run.state else "UNKNOWN"


def finished(run_id: str, timeout_s: float = 90) -> Any:
    wait_for(lambda: state_of(run_id) in FINAL, timeout_s=timeout_s, interval_s=0.3)
    return flow_run(run_id)


def assert_no_secret_in_prefect(bench: Bench, run_id: str) -> None:
    """Neither token is in the run's parameters or in any of its logs."""
    run = flow_run(run_id)

    def logs() -> list[Any]:
        with get_client(sync_client=True) as client:
            return client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])), limit=200
            )

    shipped = wait_for(logs, timeout_s=20, interval_s=0.5)  # none at all would prove nothing
    text = json.dumps(run.parameters) + "\n".join(log.message for log in shipped)
    for secret in bench.secrets():
        assert secret not in text


def parameters(pull: Any, repo: Any, **rules: Any) -> dict[str, Any]:
    return {"repo": repo.full_name, "number": pull.number, "timeout_hours": 1.0} | rules


def test_a_waiting_pr_pauses_ignores_the_authors_approval_and_merges_after_the_reviewers(
    bench: Bench,
) -> None:
    repo, pull = bench.open_pull()
    document = hand_to_enforcer(
        parameters(pull, repo, require_ci=False, require_approval=True), wait_s=90
    )
    assert document["status"] == "awaiting_approval", document
    assert "phoenix-bot" in document["reason"]
    run_id = document["run_id"]
    assert state_of(run_id) == "PAUSED"

    pull.create_review(event="APPROVE")  # the bot's own approval of its own PR
    assert watch_once() == []  # the watcher sees nothing new: it stays paused
    assert state_of(run_id) == "PAUSED" and not repo.get_pull(pull.number).merged

    approved = approve(bench.access, f"{repo.full_name}#{pull.number}")
    assert approved["approved_by"] == "reviewer"
    # approve resumes the waiting run itself — unless the service's watcher (every 1 s here) saw the
    # approval first, in the few milliseconds between the review and the resume.
    assert approved["resumed_runs"] in ([run_id], [])
    run = finished(run_id)
    assert run.state.type.value == "COMPLETED", run.state
    result = run.state.result()
    merged = repo.get_pull(pull.number)
    assert merged.merged and result["status"] == "merged"
    assert repo.get_branch("main").commit.sha == result["merge_sha"] == merged.merge_commit_sha
    assert result["approvals"] == ["reviewer"]
    assert_no_secret_in_prefect(bench, run_id)

    key = artifact_key("pr", f"{repo.full_name}-{pull.number}")
    with get_client(sync_client=True) as client:
        shown = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    statuses = {line for a in shown for line in str(a.data).splitlines() if "| status |" in line}
    assert statuses == {"| status | **awaiting_approval** |", "| status | **merged** |"}


def test_a_failed_ci_status_is_refused_naming_the_failing_context(bench: Bench) -> None:
    repo, pull = bench.open_pull()
    repo.get_commit(pull.head.sha).create_status("failure", context="ci/smoke")
    document = hand_to_enforcer(
        parameters(pull, repo, require_ci=True, require_approval=False), wait_s=90
    )
    assert document["status"] == "refused", document
    assert "ci/smoke" in document["reason"]
    run = flow_run(document["run_id"])
    assert run.state.type.value == "FAILED" and "ci/smoke" in (run.state.message or "")
    assert not repo.get_pull(pull.number).merged


def test_ci_arriving_resumes_a_run_waiting_for_ci_through_the_watcher(bench: Bench) -> None:
    repo, pull = bench.open_pull()
    repo.get_commit(pull.head.sha).create_status("pending", context="phoenix-ci")
    document = hand_to_enforcer(
        parameters(pull, repo, require_ci=True, require_approval=False), wait_s=90
    )
    assert document["status"] == "awaiting_ci", document
    assert "phoenix-ci" in document["reason"]
    run_id = document["run_id"]
    assert state_of(run_id) == "PAUSED"

    repo.get_commit(pull.head.sha).create_status("success", context="phoenix-ci")
    run = finished(run_id)  # nobody resumes it but the service's watcher (every 1 s here)
    assert run.state.type.value == "COMPLETED", run.state
    assert repo.get_pull(pull.number).merged
    assert_no_secret_in_prefect(bench, run_id)


def test_a_pr_nobody_approves_times_out(bench: Bench) -> None:
    repo, pull = bench.open_pull()
    document = hand_to_enforcer(
        parameters(pull, repo, require_ci=False, require_approval=True, timeout_hours=15 / 3600),
        wait_s=90,
    )
    assert document["status"] in ("awaiting_approval", "timed_out"), document
    run = finished(document["run_id"], timeout_s=120)
    assert run.state.type.value == "FAILED"
    assert (run.state.message or "").startswith("timed out after"), run.state.message
    refusal = run.state.result(raise_on_failure=False)
    assert isinstance(refusal, PullRefused) and refusal.document["status"] == "timed_out"
    assert not repo.get_pull(pull.number).merged


def test_a_pr_waiting_across_a_restart_of_the_service_still_merges(bench: Bench) -> None:
    repo, pull = bench.open_pull()
    document = hand_to_enforcer(
        parameters(pull, repo, require_ci=False, require_approval=True), wait_s=90
    )
    run_id = document["run_id"]
    assert state_of(run_id) == "PAUSED", document
    old = daemon.service(bench.settings).read_record()
    assert old is not None and daemon.stop(bench.settings)

    ensure_enforcer_served(bench.settings)  # a new service, a new runner and watcher
    new = daemon.service(bench.settings).read_record()
    assert new is not None and new.pid != old.pid
    # The wait lives in Prefect, not in the service.  Stopped at once, the service may have killed
    # the run's process as it was leaving (Paused, then Crashed): the new watcher reschedules it.
    wait_for(lambda: state_of(run_id) == "PAUSED", timeout_s=60, interval_s=0.3)

    reviewer = bench.access.reviewer
    assert reviewer is not None
    as_reviewer = connect(bench.access.api_url, reviewer.token)
    as_reviewer.get_repo(repo.full_name).get_pull(pull.number).create_review(event="APPROVE")
    run = finished(run_id)  # the new service's watcher resumes it, its runner runs it
    assert run.state.type.value == "COMPLETED", run.state
    assert repo.get_pull(pull.number).merged


def test_in_process_the_enforcer_returns_the_wait_and_the_agent_record_follows(bench: Bench) -> None:
    from flows.enforce_pr import run_enforcer
    from phoenix.store import open_store
    from phoenix.store.agents import AgentRecord, get_agent, save_agent

    repo, pull = bench.open_pull()
    store = open_store()
    save_agent(store, AgentRecord(id="agent-1", name="weather", status="publishing"))
    rules = parameters(pull, repo, require_ci=True, require_approval=False, agent_id="agent-1")

    waiting = run_enforcer(**rules)  # not a deployment's run: it returns instead of suspending
    assert waiting["status"] == "awaiting_ci" and waiting["ci"] == "none", waiting
    record = get_agent(open_store(), "agent-1")
    assert record.status == "awaiting_ci" and record.error == waiting["reason"]

    repo.get_commit(pull.head.sha).create_status("error", context="phoenix-ci")
    refused = run_enforcer(**rules)
    assert refused["status"] == "refused" and "phoenix-ci (error)" in refused["reason"]
    record = get_agent(open_store(), "agent-1")
    assert record.status == "refused" and "phoenix-ci" in (record.error or "")
    assert not repo.get_pull(pull.number).merged
