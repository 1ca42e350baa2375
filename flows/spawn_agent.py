"""spawn-agent: the LLM writes a Rust agent; Phoenix tests it, publishes it, and hands its pull
request to the enforcer.

Stages, each printed on stderr as it starts and kept in the run's progress artifact: generate →
assemble → cargo test (with repairs: the compiler's errors go back to the LLM, up to
`PHOENIX_SPAWN_REPAIRS` times) → TEST_REPORT.md → publish (repository, push) → pull request →
enforce.  With `TESTING_MANDATORY` (the default) code that still fails aborts **before** anything is
created on the forge, and the report names the model that wrote it.

The original system created the remote repository before testing and pushed branches without the
scaffold; here the repository is made only for code that passed (or when tests are not
mandatory), the branch `evolve/spawn-<id>` starts from the base branch and holds every file, and a
re-run for the same name reuses the agent's id, repository, branch and open pull request.

The spawn returns once it reaches a resting state — merged, aborted, pushed, or a pull request
waiting (`awaiting_ci` / `awaiting_approval`, with what it waits for); the `enforce-pr` run goes on
waiting on its own, Paused in the Prefect UI, and merges when CI and a reviewer allow.
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from prefect import State, flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.states import Cancelled

from blocks.github import resolve_github_settings
from flows.run_names import shorten
from phoenix.agents.naming import AgentName, name_from_description, normalise_agent_name
from phoenix.agents.template import AgentSpec, strip_code_fences
from phoenix.agents.tiers import Visibility, tier_for, visibility_for
from phoenix.cancellation import CANCELLED_MESSAGE, RunCancelled, cancel_requested
from phoenix.envelope import failed_result
from phoenix.errors import BadInput, SpawnAborted
from phoenix.github.settings import GitHubSettings
from phoenix.settings import LOCAL_MODEL, PhoenixSettings, load_settings
from phoenix.store import open_store
from phoenix.store.agents import AgentRecord, find_agent_named, save_agent
from tasks.artifacts import artifact_key
from tasks.github import start_enforcer
from tasks.publish import create_repository, open_pull_request, push_agent
from tasks.spawn import assemble_agent, record_test_report, test_agent, write_agent_code

STAGES = ("generate", "assemble", "cargo test", "report", "publish", "pull request", "enforce")
ENFORCER_WAIT_S = 120.0
"""How long the spawn waits for the enforcer's first verdict before returning what it knows."""
EMBEDDED_MODEL_NOTE = (
    "The embedded model cannot write compiling Rust: configure a real model for spawning"
    " (PHOENIX_LLM_MODEL, with PHOENIX_LLM_API_BASE / PHOENIX_LLM_API_KEY; see the README,"
    " 'Spawning agents')."
)


def spawn_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = dict(flow_run.parameters or {})
    return f"spawn: {shorten(parameters.get('name') or parameters.get('description'), 30)}"


class SpawnProgress:
    """Each stage on stderr and in the run's logs as it starts, and as the run's progress artifact."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.started = time.monotonic()
        self.timings: list[tuple[str, float]] = []
        self.artifact: UUID | None = None

    def stage(self, stage: str, detail: str = "") -> None:
        """Announce `stage`; a spawn whose caller went away (Ctrl-C) stops here instead."""
        if cancel_requested():
            raise RunCancelled(f"The spawn of {self.agent} was cancelled before {stage}.")
        now = time.monotonic() - self.started
        label = f"{stage} ({detail})" if detail else stage
        self.timings.append((label, now))
        line = f"phoenix: spawn {self.agent}: {label} ..."
        print(line, file=sys.stderr, flush=True)
        get_run_logger().info(line.removeprefix("phoenix: "))
        percent = 100.0 * STAGES.index(stage) / len(STAGES)
        description = f"spawn {self.agent}: {label}"
        if self.artifact is None:
            created = create_progress_artifact(
                percent, key=artifact_key("spawn-progress", self.agent), description=description
            )
            self.artifact = created if isinstance(created, UUID) else None
        else:
            update_progress_artifact(self.artifact, percent, description=description)

    def finish(self, status: str) -> dict[str, Any]:
        """The stages' timeline, for the result: when each started, seconds into the spawn."""
        if self.artifact is not None:
            update_progress_artifact(self.artifact, 100.0, description=f"spawn {self.agent}: {status}")
        return {
            "stages": [{"stage": label, "started_s": round(at, 3)} for label, at in self.timings],
            "duration_s": round(time.monotonic() - self.started, 3),
        }


@flow(name="spawn-agent", flow_run_name=spawn_run_name, validate_parameters=True)
def spawn_agent(
    description: str,
    name: str | None = None,
    tier: Literal["free", "paid", "enterprise"] | None = None,
) -> dict[str, Any] | State[Any]:
    """Have the LLM write a Rust agent, test it, publish it and carry its pull request to a merge.

    Args:
        description: what the agent does, in plain words (its tier is read from them unless given).
        name: the agent's name (made into a repository and crate name); none: made from the
            description's first words.
        tier: free (public repository), paid or enterprise (private); none: from the description.
    """
    settings = load_settings()
    github = resolve_github_settings()
    description = " ".join(description.split())
    if not description:
        raise BadInput("Say what the agent should do: `phoenix spawn NAME: DESCRIPTION`.")
    agent_name = (
        normalise_agent_name(name) if name and name.strip() else name_from_description(description)
    )
    chosen_tier = tier_for(description, tier)
    spec = AgentSpec(
        name=agent_name, description=description, tier=chosen_tier,
        visibility=visibility_for(chosen_tier), model=settings.llm_model,
    )  # fmt: skip
    store = open_store(settings)
    existing = find_agent_named(store, agent_name.repo)
    if existing is not None and existing.created_at is not None:  # agent.json keeps its birth
        spec = spec.model_copy(update={"created_at": existing.created_at})
    record = AgentRecord(
        id=existing.id if existing else uuid.uuid4().hex[:10], name=agent_name.repo,
        description=description, tier=chosen_tier.value.lower(), status="generating",
        repo_url=existing.repo_url if existing else None, model=settings.llm_model,
    )  # fmt: skip
    record = save_agent(store, record)
    progress = SpawnProgress(agent_name.repo)
    folder = settings.home / "agents" / record.id / "repo"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    try:
        return _spawn(store, record, spec, settings, github, folder, progress)
    except BaseException as error:  # the record must not say "generating" forever
        cancelled = cancel_requested() or not isinstance(error, Exception)
        status = "cancelled" if cancelled else "failed"
        reason = status if cancelled else f"{type(error).__name__}: {error}"[:2000]
        save_agent(store, record.model_copy(update={"status": status, "error": reason}))
        if cancelled:  # Prefect's Cancelled, not a crash: the UI shows what happened
            return Cancelled(message=CANCELLED_MESSAGE)
        raise


def _spawn(
    store: Any, record: AgentRecord, spec: AgentSpec, settings: PhoenixSettings,
    github: GitHubSettings, folder: Path, progress: SpawnProgress,
) -> dict[str, Any]:  # fmt: skip
    """Write and test the agent, then publish it or abort: the spawn past its checks."""
    name = spec.name.repo
    outcome, attempts = _write_and_test(spec, settings, github, folder, progress)
    progress.stage("report")
    report = record_test_report(folder, outcome, settings.llm_model, attempts)
    create_markdown_artifact(
        report, key=artifact_key("spawn-report", name),
        description=f"cargo test of {name}, attempt {attempts}",
    )  # fmt: skip
    record = record.model_copy(
        update={"attempts": attempts, "test_passed": outcome.passed,
                "test_exit_code": outcome.exit_code, "test_duration_s": round(outcome.duration_s, 3)}
    )  # fmt: skip
    if not outcome.passed and github.testing_mandatory:
        return _aborted(store, record, settings.llm_model, attempts, progress)

    record = _publish(store, record, spec, github, settings, folder, report, progress)
    waiting = record.status.startswith("awaiting")
    shown = record.shown() | {"waiting_for": record.error if waiting else None}
    shown |= progress.finish(record.status)
    if record.status in ("refused", "timed_out"):
        return failed_result(shown, SpawnAborted(f"The pull request was refused: {record.error}"))
    return shown


def _write_and_test(
    spec: AgentSpec, settings: PhoenixSettings, github: GitHubSettings, folder: Path,
    progress: SpawnProgress,
) -> tuple[Any, int]:  # fmt: skip
    """Generate, assemble and test; on failure feed the errors back, up to `spawn_repairs` times."""
    target_dir = settings.home / "agents" / "cargo-target"
    code: str | None = None
    errors: str | None = None
    attempt = 0
    while True:
        attempt += 1
        progress.stage("generate", "first draft" if attempt == 1 else f"repair {attempt - 1}")
        answer = write_agent_code(spec.name.display, spec.description, settings, code, errors)
        progress.stage("assemble")
        assemble_agent(folder, spec, answer)
        progress.stage("cargo test", f"attempt {attempt}")
        outcome = test_agent(folder, attempt, target_dir)
        if outcome.passed or attempt > github.spawn_repairs:
            return outcome, attempt
        code = strip_code_fences(answer)
        errors = "\n\n".join(outcome.errors) or outcome.output_tail


def _aborted(
    store: Any, record: AgentRecord, model: str, attempts: int, progress: SpawnProgress
) -> dict[str, Any]:
    """Nothing goes to the forge: the record says why, and which model wrote the code."""
    reason = (
        f"cargo test still failed after {attempts} attempt(s) ({attempts - 1} repair(s)); the code"
        f" was written by {model}. Nothing was published (TESTING_MANDATORY)."
    )
    if model == LOCAL_MODEL:
        reason += " " + EMBEDDED_MODEL_NOTE
    record = save_agent(store, record.model_copy(update={"status": "aborted", "error": reason}))
    timeline = progress.finish("aborted")
    get_run_logger().error(reason)
    return failed_result(record.shown() | {"waiting_for": None} | timeline, SpawnAborted(reason))


def _publish(
    store: Any, record: AgentRecord, spec: AgentSpec, github: GitHubSettings,
    settings: PhoenixSettings, folder: Path, report: str, progress: SpawnProgress,
) -> AgentRecord:  # fmt: skip
    """Repository, push, and — when CI or approval is required — the pull request and enforcer."""
    name: AgentName = spec.name
    progress.stage("publish", "repository")
    repo = create_repository(name.repo, spec.visibility is Visibility.PRIVATE, spec.description)
    via_pull = github.require_ci or github.require_approval
    branch = f"evolve/spawn-{record.id}" if via_pull else github.base_branch
    progress.stage("publish", f"push {branch}")
    pushed = push_agent(
        folder, repo.clone_url, github.base_branch, branch,
        f"Spawn agent: {name.repo}\n\n{spec.description}\n\nWritten by {spec.model}.",
        settings.home / "agents" / record.id / "clone",
        f"# {name.display}\n\n{spec.description}\n\nMaintained by Phoenix: the agent's code arrives"
        " by pull request.\n",
    )  # fmt: skip
    record = record.model_copy(update={"repo_url": repo.html_url, "error": None})
    if not via_pull:
        return save_agent(store, record.model_copy(update={"status": "pushed"}))
    if not pushed.changed:  # the base branch already holds exactly this agent
        return save_agent(store, record.model_copy(update={"status": "merged"}))
    progress.stage("pull request")
    pull = open_pull_request(
        repo.full_name, branch, github.base_branch, f"Spawn agent: {name.repo}",
        f"{spec.description}\n\nCode written by `{spec.model}`; tier {spec.tier.value}.\n\n{report}",
    )  # fmt: skip
    record = save_agent(
        store, record.model_copy(update={"status": "awaiting_ci" if github.require_ci
                                         else "awaiting_approval",
                                         "pr_number": pull.number, "pr_url": pull.url})
    )  # fmt: skip
    progress.stage("enforce", f"PR #{pull.number}")
    verdict = start_enforcer(
        {
            "repo": repo.full_name, "number": pull.number, "agent_id": record.id,
            "require_ci": github.require_ci, "require_approval": github.require_approval,
            "merge_method": github.merge_method, "timeout_hours": github.approval_timeout_hours,
        },
        ENFORCER_WAIT_S,
    )  # fmt: skip
    status = str(verdict.get("status") or record.status)
    return save_agent(
        store, record.model_copy(update={"status": status, "error": verdict.get("reason")})
    )
