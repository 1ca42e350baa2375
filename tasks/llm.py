"""Tasks that talk to the LLM: one ORCH sub-agent's proposal, and one conversational answer.

Retries belong to Prefect: a retryable `LLMError` (timeout, 429, 5xx, connection) is raised so that
Prefect tries again with exponential backoff and jitter; a final one, or the last attempt, becomes
`OrchFailed`, which carries the attempts and latency the queen reports, and which
`retry_unless_final` tells Prefect not to retry.

What each ORCH used is the usage of its successful call.  A failed attempt costs nothing that
Phoenix can count: `phoenix.llm.client` raises on a failed call without the server's usage (an
error response reports none; an empty answer is refused before its usage is read), so a run's
tokens are those of the calls that answered — a lower bound of what a provider bills when some
attempts failed after generating.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.context import TaskRunContext
from prefect.states import Cancelled
from prefect.tasks import exponential_backoff

from phoenix.cancellation import CANCELLED_MESSAGE, cancel_requested
from phoenix.llm.client import LLMError, TokenUsage, complete, complete_with_usage
from phoenix.llm.synthesis import IdeaGroup, judge_messages
from phoenix.settings import PhoenixSettings
from phoenix.store.proposals import ProposalResult

ANGLES = (
    "performance",
    "reliability",
    "security",
    "developer experience",
    "observability",
    "testing",
    "user experience",
    "cost",
    "scalability",
    "maintainability",
    "accessibility",
    "documentation",
    "error handling",
    "data quality",
    "deployment and operations",
    "extensibility",
)


def angle_for(index: int) -> str:
    """The point of view of ORCH `index`, so that N sub-agents propose N different things."""
    angle = ANGLES[index % len(ANGLES)]
    round_number = index // len(ANGLES)
    return angle if round_number == 0 else f"{angle} (idea #{round_number + 1} from this angle)"


def orch_messages(seed: str, index: int, n: int) -> list[dict[str, str]]:
    return [
        {
            "role": "system",
            "content": (
                f"You are ORCH-{index}, one of {n} expert sub-agents reviewing a project. "
                "Answer with exactly one concrete, actionable improvement in one short paragraph."
            ),
        },
        {
            "role": "user",
            "content": (
                f"Project: {seed}\n"
                f"From the angle of {angle_for(index)}, propose one improvement (ORCH-{index})."
            ),
        },
    ]


class OrchFailed(Exception):
    """An ORCH sub-agent gave up; carries what the queen reports for it."""

    def __init__(self, message: str, attempts: int, latency_s: float) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        self.latency_s = latency_s

    def __reduce__(self) -> tuple[Any, ...]:
        # Results cross process boundaries with the Dask runner: keep the fields when pickled.
        return (OrchFailed, (self.message, self.attempts, self.latency_s))


def retry_unless_final(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect's retry condition: retry unless the failure says another attempt cannot help."""
    try:
        state.result(raise_on_failure=True)
    except OrchFailed:
        return False
    except LLMError as error:
        return error.retryable
    except Exception:  # noqa: BLE001 - any other failure may be passing
        return True
    return True


# When each ORCH's first attempt began, so that latency covers its retries and backoff too.
_first_attempt_at: dict[UUID, float] = {}
_first_attempt_lock = threading.Lock()


def _attempt_clock() -> tuple[int, int, float, UUID | None]:
    """This attempt's number, the retries allowed, and when the first attempt began."""
    context = TaskRunContext.get()
    if context is None:
        return 1, 0, time.monotonic(), None
    run = context.task_run
    with _first_attempt_lock:
        started = _first_attempt_at.setdefault(run.id, time.monotonic())
    return max(run.run_count, 1), context.task.retries, started, run.id


def _forget(run_id: UUID | None) -> None:
    if run_id is not None:
        with _first_attempt_lock:
            _first_attempt_at.pop(run_id, None)


@task(
    name="orch",
    task_run_name="orch-{index}",
    cache_policy=NO_CACHE,
    retry_condition_fn=retry_unless_final,
)
def propose_one(seed: str, index: int, n: int, settings: PhoenixSettings) -> ProposalResult | State[Any]:
    """ORCH sub-agent `index`: one improvement for `seed`, from its own angle.

    Once its command is cancelled it asks nothing more and ends Cancelled (a call in flight is
    cancelled on the io loop, see `phoenix.cancellation`).
    """
    if cancel_requested():
        return Cancelled(message=CANCELLED_MESSAGE)
    attempt, retries, started, run_id = _attempt_clock()
    try:
        text, usage = complete_with_usage(orch_messages(seed, index, n), settings)
    except LLMError as error:
        if cancel_requested():
            _forget(run_id)
            return Cancelled(message=CANCELLED_MESSAGE)
        if error.retryable and attempt <= retries:
            raise
        _forget(run_id)
        raise OrchFailed(error.message, attempt, time.monotonic() - started) from None
    except BaseException:
        if attempt > retries:
            _forget(run_id)
        raise
    _forget(run_id)
    return ProposalResult(
        index=index,
        angle=angle_for(index),
        proposal=text,
        attempts=attempt,
        latency_s=round(time.monotonic() - started, 4),
        usage=usage,
    )


@task(name="judge-ideas", cache_policy=NO_CACHE, retry_condition_fn=retry_unless_final)
def judge_ideas(seed: str, groups: list[IdeaGroup], settings: PhoenixSettings) -> tuple[str, TokenUsage]:
    """The LLM judge's answer to "rank these ideas for `seed`" (see `phoenix.llm.synthesis`), and
    what it used.

    Only the call is a task: reading its answer is the flow's, so that an answer that is not an
    order is not retried (a small model would answer the same way) and its usage is still counted.
    The flow sets the retries as for an ORCH; a final failure only degrades the synthesis.
    The answer asked for is a short JSON order, so it may be no longer than that needs: a model
    that writes prose instead (the embedded one does) stops early rather than at the usual limit.
    """
    longest = min(settings.llm_max_tokens, 64 + 8 * len(groups))
    messages = judge_messages(seed, groups)
    return complete_with_usage(messages, settings, max_tokens=longest, temperature=0.0)


LLM_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=1),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_unless_final,
}
"""How a task that asks the LLM once is retried: retryable errors only, with backoff and jitter."""


@task(name="ask-llm", cache_policy=NO_CACHE, **LLM_RETRIES)
def ask_llm(user_input: str, settings: PhoenixSettings) -> str:
    """A conversational answer to what a person typed."""
    messages = [
        {
            "role": "system",
            "content": "You are Phoenix, an orchestrator of AI agents. Answer briefly and helpfully.",
        },
        {"role": "user", "content": user_input},
    ]
    return complete(messages, settings)
