"""propose-improvements: the queen flow of the hive.

The queen maps N ORCH sub-agent tasks over the LLM, each asking for one improvement from its own
angle, then gathers every outcome — proposals and failures alike — in index order.  Prefect does the
hard parts: the fan-out (`Task.map` on a thread pool, or on Dask for scale-out), retries with
exponential backoff and jitter; the LLM layer enforces the per-call timeout and caps how many calls
are in flight.
One ORCH failing never fails the run: it is reported with its error.  A run in which no ORCH
proposed anything is a failed operation (`llm_failed`: the CLI exits 1, the API answers 502), its
record still kept and returned.  A run whose caller went away (`phoenix.cancellation`) stops
asking the LLM and ends Cancelled.

Then the queen aggregates (`synthesize`, on by default): the proposals are grouped into ideas by
embedding similarity (task `group-proposals`) and the ideas ranked by an LLM judge against the seed
(task `judge-ideas`, the same LLM settings), see `phoenix.llm.synthesis`.  The raw results are
kept as they are; the synthesis is added beside them.  A judge that fails or answers something that
is not an order leaves the ideas in the default order (by size) and says why — never a failed run.
What the run cost (tokens in and out, and the price when litellm knows the model's) is summed from
every ORCH's and the judge's call and kept with the run.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from prefect import State, flow, unmapped
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.states import Cancelled
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from blocks.llm import resolve_settings
from flows.run_names import propose_run_name
from phoenix.cancellation import CANCELLED_MESSAGE, cancel_requested
from phoenix.commands import check_proposal_count
from phoenix.envelope import failed_result
from phoenix.errors import UsageError
from phoenix.llm.client import LLMError, TokenUsage, prepare_llm_client
from phoenix.llm.synthesis import (
    MAX_JUDGED_GROUPS,
    IdeaGroup,
    JudgeUnparsable,
    Synthesis,
    apply_ranking,
    parse_ranking,
)
from phoenix.settings import MAX_ORCHS, PhoenixSettings
from phoenix.store.proposals import ProposalResult, ProposeRun, run_usage
from tasks.llm import OrchFailed, angle_for, judge_ideas, propose_one
from tasks.proposals import (
    group_proposals,
    publish_proposals_table,
    publish_synthesis,
    record_propose_run,
    start_progress,
)

TaskRunnerName = Literal["threads", "dask"]


def _outcome(index: int, future: PrefectFuture[ProposalResult], retries: int) -> ProposalResult:
    """What ORCH `index` ended with, without raising: a proposal or its error."""
    future.wait()
    state = future.state
    if state.is_completed():
        return future.result()
    if state.is_cancelled():
        return ProposalResult(
            index=index, angle=angle_for(index), error=CANCELLED_MESSAGE, attempts=1, latency_s=0.0
        )
    error = state.result(raise_on_failure=False)
    if isinstance(error, OrchFailed):
        return ProposalResult(
            index=index,
            angle=angle_for(index),
            error=error.message,
            attempts=error.attempts,
            latency_s=round(error.latency_s, 4),
        )
    message = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else None
    return ProposalResult(
        index=index,
        angle=angle_for(index),
        error=message or state.message or f"ORCH ended in state {state.type.value}",
        attempts=retries + 1,
        latency_s=0.0,
    )


def _unvisited(settings: PhoenixSettings) -> Any:
    """The settings, marked so that Prefect does not walk their every field for each ORCH.

    They hold no futures, and the walk costs about 2 ms per task run here.  `quote` does not
    survive Dask's serialisation (it arrives as a tuple), so it is used on the thread pool only.
    """
    context = FlowRunContext.get()
    if context is not None and isinstance(context.task_runner, ThreadPoolTaskRunner):
        return quote(settings)
    return settings


def gather_proposals(seed: str, n: int, settings: PhoenixSettings) -> list[ProposalResult]:
    """Fan out N ORCH tasks on the flow's task runner and collect every outcome in index order.

    The run's progress artifact moves as ORCHs finish (at most `PROGRESS_STEPS` updates, at
    least `PROGRESS_INTERVAL_S` apart but the last).
    """
    prepare_llm_client()  # its one-time import and heap freeze, before N task runs exist
    orch = propose_one.with_options(
        retries=settings.orch_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.orch_retry_delay),
        retry_jitter_factor=0.5,
        # No Prefect task timeout: a sync task in a worker thread cannot be interrupted, so the
        # per-call timeout is enforced where the waiting happens — in the LLM call itself.
    )
    futures = orch.map(
        seed=unmapped(seed),
        index=range(n),
        n=unmapped(n),
        settings=unmapped(_unvisited(settings)),
    )
    # Made once the ORCHs are under way; the flow's own thread then moves the bar as they finish.
    progress = start_progress(n)
    for done, _ in enumerate(as_completed(list(futures)), start=1):
        progress.advance(done)
    return [_outcome(index, future, settings.orch_retries) for index, future in enumerate(futures)]


def _judge(
    seed: str, groups: list[IdeaGroup], settings: PhoenixSettings
) -> tuple[list[IdeaGroup], str | None, TokenUsage]:
    """The groups in the judge's order, or as given with why not; and what the judge used."""
    judge = judge_ideas.with_options(
        retries=settings.orch_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.orch_retry_delay),
        retry_jitter_factor=0.5,
    )
    future = judge.submit(seed=seed, groups=groups, settings=_unvisited(settings))
    future.wait()
    state = future.state
    if not state.is_completed():
        error = state.result(raise_on_failure=False)
        if isinstance(error, LLMError):
            return groups, f"The judge's call failed: {error.message}", TokenUsage()
        if isinstance(error, BaseException):
            return groups, f"The judge's call failed: {type(error).__name__}: {error}", TokenUsage()
        return groups, f"The judge's call ended {state.type.value}: {state.message}", TokenUsage()
    text, usage = future.result()
    try:
        positions = parse_ranking(text, min(len(groups), MAX_JUDGED_GROUPS))
    except JudgeUnparsable as error:
        return groups, str(error), usage
    return apply_ranking(groups, positions), None, usage


def synthesize_proposals(
    seed: str, results: list[ProposalResult], settings: PhoenixSettings
) -> Synthesis | None:
    """The queen's synthesis of `results`: ideas grouped, then ranked by the judge when there are
    two or more (one idea needs no judge); None when no ORCH proposed anything."""
    started = time.perf_counter()
    groups, grouping_error = group_proposals.submit(results, _unvisited(settings)).result()
    if not groups:
        return None
    judge_error: str | None = None
    usage = TokenUsage()
    ranked = False
    if len(groups) > 1 and not cancel_requested():
        ordered, judge_error, usage = _judge(seed, groups, settings)
        ranked = judge_error is None
        groups = ordered
    return Synthesis(
        groups=groups,
        ranked_by="judge" if ranked else "size",
        judge_error=judge_error,
        grouping_error=grouping_error,
        usage=usage,
        wall_s=round(time.perf_counter() - started, 4),
    )


@flow(
    name="propose-improvements",
    flow_run_name=propose_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_ORCHS),
    validate_parameters=True,
)
def propose_improvements(seed: str, n: int = 5, synthesize: bool = True) -> dict[str, Any] | State[Any]:
    """Ask N ORCH sub-agents for one improvement each to `seed`, and aggregate what they say.

    Args:
        seed: what to improve — a project, a plan, a piece of text.
        n: how many ORCH sub-agents to run (1 to 512).
        synthesize: group the proposals into ideas and rank them with an LLM judge (off for a
            benchmark of the fan-out alone: it embeds every proposal and asks the LLM once more).
    """
    if not seed or not seed.strip():
        raise UsageError("propose-improvements needs a seed: what should be improved?")
    check_proposal_count(n)
    settings = resolve_settings()
    started = time.perf_counter()
    results = gather_proposals(seed.strip(), n, settings)
    wall_s = round(time.perf_counter() - started, 4)
    if cancel_requested():
        return Cancelled(message=CANCELLED_MESSAGE)
    succeeded = sum(result.proposal is not None for result in results)
    synthesis = synthesize_proposals(seed.strip(), results, settings) if synthesize else None
    if cancel_requested():
        return Cancelled(message=CANCELLED_MESSAGE)
    run = ProposeRun(
        run_id=str(flow_run.get_id() or ""),
        seed=seed.strip(),
        n=n,
        model=settings.llm_model,
        succeeded=succeeded,
        failed=n - succeeded,
        wall_s=wall_s,
        results=results,
        usage=run_usage(results, synthesis),
        synthesis=synthesis,
    )
    # All are I/O on different systems (DuckDB, the Prefect API): let them overlap.
    stored = record_propose_run.submit(run)
    published = publish_proposals_table.submit(run)
    summarised = publish_synthesis.submit(run) if synthesis is not None else None
    stored.result()
    published.result()
    if summarised is not None:
        summarised.result()
    if succeeded == 0:
        return failed_result(run.model_dump(), LLMError(_no_proposal_message(results)))
    return run.model_dump()


def _no_proposal_message(results: list[ProposalResult]) -> str:
    """Why a run has no proposal at all: every ORCH failed, and the first one said why."""
    first = results[0].error if results else None
    return f"No ORCH proposed anything: all {len(results)} failed (ORCH 0: {first})"


def run_propose(
    seed: str, n: int = 5, task_runner: TaskRunnerName = "threads", synthesize: bool = True
) -> dict[str, Any]:
    """Run the queen on the chosen task runner: threads here, or a Dask cluster for scale-out."""
    if task_runner == "threads":
        return propose_improvements(seed=seed, n=n, synthesize=synthesize)
    if task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise UsageError(
                "The Dask task runner needs prefect-dask: pip install 'phoenix-orchestrator[dask]'"
            ) from None
        return propose_improvements.with_options(task_runner=DaskTaskRunner())(
            seed=seed, n=n, synthesize=synthesize
        )
    raise UsageError(f"Unknown task runner {task_runner!r}: choose threads or dask")
