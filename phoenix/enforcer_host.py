"""The enforcer's home: the local Phoenix service serves `enforce-pr/phoenix` and watches its waits.

A waiting `enforce-pr` run suspends (Prefect ends its process); it runs again only when resumed,
and a resumed run is rescheduled, which needs a runner polling its deployment.  So the local Phoenix
service (`phoenix.daemon`), which outlives any one command, hosts:

- a Prefect `Runner` in a background thread serving `enforce-pr/phoenix` (`serve_enforcer`): each
  run executes in a subprocess with the service's environment;
- a watcher thread (`watch_paused_enforcers`) that every `PHOENIX_PR_WATCH_SECONDS` (default 30)
  evaluates each Paused enforce-pr run's PR and resumes the run when the verdict is no longer the
  one it waits for (CI arrived, an approval arrived, CI failed) or its deadline passed — so a PR
  approved on GitHub's own pages, or a CI status posted by anyone, moves the enforcer on without
  anybody pressing Resume.

A restart of the service loses nothing: the Paused runs live in Prefect, and the next service's
runner and watcher pick them up.

`ensure_enforcer_served` makes sure such a runner polls the deployment (starting the local service
when none does) and `hand_to_enforcer` is how the spawn flow gives a PR to it.

Part of the core: no `flows`/`tasks` imports at module level (the runner imports the flow itself).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from phoenix.errors import OperationFailed
from phoenix.settings import PhoenixSettings

ENFORCER = "enforce-pr"
DEPLOYMENT = f"{ENFORCER}/phoenix"
DEFAULT_WATCH_S = 30.0
POLL_S = 2.0
"""How often the runner asks Prefect for runs to start (a resumed run waits at most this long)."""
READY_TIMEOUT_S = 120.0
FRESH_POLL_S = 30.0
"""A deployment last polled longer ago than this has no runner any more."""

log = logging.getLogger("phoenix.enforcer")
_hosting = threading.Event()  # set in the process whose threads serve the enforcer (the service)


def watch_seconds(environ: Mapping[str, str]) -> float:
    text = environ.get("PHOENIX_PR_WATCH_SECONDS", "").strip()
    try:
        return max(float(text), 0.2) if text else DEFAULT_WATCH_S
    except ValueError:
        return DEFAULT_WATCH_S


# --- in the service --------------------------------------------------------------------------------


def serve_enforcer(stop: threading.Event) -> None:
    """Serve `enforce-pr/phoenix` from this process until `stop` is set (a thread's target)."""
    import asyncio

    from prefect.runner import Runner

    from flows.deployments import RESULT_SETTINGS, _deployment, load_flow

    for name, value in RESULT_SETTINGS.items():
        os.environ.setdefault(name, value)  # each run's subprocess keeps its flow's result

    deployment = _deployment(load_flow(ENFORCER), "phoenix")  # sync: outside the event loop

    async def run() -> None:
        runner = Runner(name=f"phoenix-enforcer-{os.getpid()}", query_seconds=POLL_S, limit=None)
        await runner.aadd_deployment(deployment)

        async def stop_when_told() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.5)
            await runner.stop()

        watcher = asyncio.ensure_future(stop_when_told())
        try:
            await runner.start()
        finally:
            watcher.cancel()

    asyncio.run(run())


def _waits_for(run: Any) -> str | None:
    """What a Paused run waits for: the verdict in its pause key (`awaiting_ci:<random>`)."""
    key = run.state.state_details.pause_key if run.state else None
    return key.split(":", 1)[0] if key and ":" in key else None


def should_resume(run: Any, now: datetime) -> str | None:
    """Why the Paused run `run` should go on now, or None while it must still wait."""
    from phoenix.github.pulls import deadline_of

    github = _github_settings()
    parameters = run.parameters
    check = check_of(parameters)
    hours = parameters.get("timeout_hours")
    hours = github.approval_timeout_hours if hours is None else float(hours)
    if check.merged or check.state != "open":
        return "the pull request is no longer open"
    if check.decision.verdict != _waits_for(run):
        return f"verdict now {check.decision.verdict}"
    if now >= deadline_of(check.created_at, hours):
        return "its deadline passed"
    return None


def _github_settings() -> Any:
    from blocks.github import resolve_github_settings

    return resolve_github_settings()


def check_of(parameters: Mapping[str, Any]) -> Any:
    """The gate's look at the PR of an enforce-pr run's `parameters` (None → this environment's)."""
    from phoenix.github.access import forge_access
    from phoenix.github.pulls import read_check
    from phoenix.settings import load_settings

    github = _github_settings()
    require_ci, require_approval = parameters.get("require_ci"), parameters.get("require_approval")
    return read_check(
        forge_access(load_settings(), github), str(parameters["repo"]), int(parameters["number"]),
        github.require_ci if require_ci is None else bool(require_ci),
        github.require_approval if require_approval is None else bool(require_approval),
    )  # fmt: skip


def revive_crashed_suspensions() -> list[str]:
    """Reschedule the enforce-pr runs that crashed right after they suspended.

    A suspending run's process takes a moment to exit after the run shows Paused; a service stopped
    in that moment (`phoenix server stop` just after a spawn returned) kills it, and Prefect records
    the wait as Crashed.  Such a run (Paused, then Crashed) only needs to look at its PR again: it
    is scheduled anew, re-evaluates, and suspends again or finishes.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Scheduled

    revived = []
    with get_client(sync_client=True) as client:
        crashed = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[ENFORCER])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CRASHED]))
            ),
        )
        for run in crashed:
            history = sorted(client.read_flow_run_states(run.id), key=lambda s: s.timestamp)
            if len(history) >= 2 and history[-2].type == StateType.PAUSED:
                client.set_flow_run_state(run.id, Scheduled(), force=True)
                log.info("rescheduled enforce-pr run %s, killed as it suspended", run.id)
                revived.append(str(run.id))
    return revived


def watch_once(now: datetime | None = None) -> list[str]:
    """One look at every Paused enforce-pr run; returns the ids of the runs it resumed."""
    from prefect.exceptions import FlowPauseTimeout, NotPausedError
    from prefect.flow_runs import resume_flow_run

    from phoenix.github.pulls import paused_enforcers

    resumed = revive_crashed_suspensions()
    for run in paused_enforcers():
        try:
            why = should_resume(run, now or datetime.now(UTC))
        except Exception as error:  # another home's PR, a forge down: look again next time
            log.warning("enforce-pr run %s: cannot read its PR: %s", run.id, error)
            continue
        if why is None:
            continue
        try:
            resume_flow_run(run.id)
        except (NotPausedError, FlowPauseTimeout, RuntimeError):
            continue  # resumed by someone else meanwhile, or expired
        log.info("resumed enforce-pr run %s: %s", run.id, why)
        resumed.append(str(run.id))
    return resumed


def watch_paused_enforcers(stop: threading.Event, every_s: float) -> None:
    """Look at the Paused enforcers every `every_s` seconds until `stop` is set."""
    while not stop.wait(every_s):
        try:
            watch_once()
        except Exception:
            log.exception("enforce-pr watcher: one look failed; trying again")


def start_enforcer_host(environ: Mapping[str, str] | None = None) -> threading.Event:
    """Start the runner and the watcher threads (daemon threads); set the event to stop them."""
    environ = os.environ if environ is None else environ
    stop = threading.Event()
    _hosting.set()
    threading.Thread(
        target=_logged(serve_enforcer), args=(stop,), name="enforce-pr-runner", daemon=True
    ).start()
    threading.Thread(
        target=watch_paused_enforcers, args=(stop, watch_seconds(environ)),
        name="enforce-pr-watcher", daemon=True,
    ).start()  # fmt: skip
    return stop


def _logged(target: Any) -> Any:
    def run(*arguments: Any) -> None:
        try:
            target(*arguments)
        except Exception:
            log.exception("the enforce-pr runner stopped")

    return run


# --- in any process --------------------------------------------------------------------------------


def enforcer_polled(fresh_s: float = FRESH_POLL_S) -> bool:
    """Whether a runner polls `enforce-pr/phoenix` now (READY, and polled within `fresh_s`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import DeploymentStatus
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(DEPLOYMENT)
        except ObjectNotFound:
            return False
    polled = deployment.last_polled
    return (
        deployment.status == DeploymentStatus.READY
        and polled is not None
        and datetime.now(UTC) - polled < timedelta(seconds=fresh_s)
    )


def ensure_enforcer_served(settings: PhoenixSettings, environ: Mapping[str, str] | None = None) -> None:
    """Make sure this home's local service runs (it hosts the enforcer) and its runner polls.

    The service is started whether or not another runner (`phoenix serve`) polls the deployment:
    a deployment's READY outlives its runner by a minute, so it cannot tell a live runner from one
    just stopped.  Called inside the service itself, it only waits for its own runner.
    """
    from phoenix.daemon import ensure_service

    if not _hosting.is_set():
        ensure_service(settings, os.environ if environ is None else environ)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not enforcer_polled(fresh_s=POLL_S * 5):
        if time.monotonic() > deadline:
            raise OperationFailed(
                f"The local Phoenix service did not serve {DEPLOYMENT} within"
                f" {READY_TIMEOUT_S:g} s; see its log under {settings.home / 'run'}"
            )
        time.sleep(0.5)


def hand_to_enforcer(parameters: dict[str, Any], wait_s: float) -> dict[str, Any]:
    """Start an `enforce-pr` run of the served deployment; return when it pauses or finishes.

    Paused: the gate's state now, as the awaiting document, with the run's id — the run goes on
    waiting on its own.  Finished: its result document.  Still running after `wait_s`: the
    document as the gate reads now, status `awaiting_*` or as the gate says, with the run id.
    """
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from phoenix.settings import load_settings

    ensure_enforcer_served(load_settings())
    # Not a subflow of the spawn: a subflow cannot suspend, and the enforcer outlives the spawn.
    run = run_deployment(DEPLOYMENT, parameters=parameters, timeout=0, as_subflow=False)
    deadline = time.monotonic() + wait_s
    with get_client(sync_client=True) as client:
        while True:
            current = client.read_flow_run(run.id)
            state = current.state
            if state is not None and state.is_final():
                return final_document(state, parameters) | {"run_id": str(run.id)}
            if (state is not None and state.is_paused()) or time.monotonic() > deadline:
                waits_for = _waits_for(current) if state is not None and state.is_paused() else None
                return awaiting_document(parameters, waits_for) | {"run_id": str(run.id)}
            time.sleep(0.3)


def final_document(state: Any, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A finished run's document (its kept result); a crash becomes a refusal saying so."""
    try:
        result = state.result(raise_on_failure=False)
    except Exception as error:  # result storage unreadable from here
        result = error
    from phoenix.github.pulls import PullRefused

    if isinstance(result, PullRefused) and result.document:
        return dict(result.document)
    if isinstance(result, dict):
        return dict(result)
    return {
        "repo": parameters.get("repo"), "number": parameters.get("number"), "pr_url": None,
        "status": "refused", "reason": f"the enforce-pr run ended {state.name}: {state.message}",
        "head_sha": None, "ci": None, "approvals": [], "merge_sha": None,
    }  # fmt: skip


def awaiting_document(parameters: dict[str, Any], waits_for: str | None) -> dict[str, Any]:
    """The enforcer's document for a PR whose run waits (`waits_for`: what its pause key says)."""
    check = check_of(parameters)
    decision = check.decision
    if check.merged:
        status = "merged"
    elif waits_for in ("awaiting_ci", "awaiting_approval"):
        status = waits_for
    else:  # not paused yet, or already past its wait: what the gate says now
        status = decision.verdict if decision.verdict != "merge" else "awaiting_approval"
    return {
        "repo": check.repo, "number": check.number, "pr_url": check.url, "status": status,
        "reason": decision.reason, "head_sha": check.head_sha, "ci": decision.ci,
        "approvals": decision.approvals, "merge_sha": check.merge_sha,
    }  # fmt: skip
