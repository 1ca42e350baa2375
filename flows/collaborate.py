"""collaborate: the queen splits a task among the tool agents, runs the parts at once, merges them.

`phoenix collaborate TASK [--agents a,b]` and the router's `collaborate {task}`.  The queen asks the
model for sub-tasks (`plan-subtasks`), gives each to the agent whose tools fit it
(`phoenix.agents.collaboration` says how), runs each as a `tool-agent` subflow — all at once, each
on a thread of its own, each a child run of this one in the UI — and asks the model to merge the
answers (`merge-answers`), citing the agents.

A sub-task that fails (its model unreachable, its budget spent, its agent gone) is caught on its
own thread: the others go on, the merged answer names it, and the run fails only when every
sub-task did.  A failed plan is one sub-task, the whole task; a failed merge is the answers
concatenated.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import State, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled

from flows.run_names import shorten
from flows.tool_agent import STARTED, tool_agent
from phoenix.agents.collaboration import (
    MAX_SUBTASKS,
    AgentProfile,
    Outcome,
    Subtask,
    assign,
    concatenate,
    contributions,
    merge_messages,
    parse_plan,
    plan_messages,
)
from phoenix.agents.tool_loop import step_budget
from phoenix.cancellation import CANCELLED_MESSAGE, cancel_requested
from phoenix.errors import BadInput, OperationFailed
from phoenix.llm.client import LLMError, TokenUsage, complete_with_usage
from phoenix.settings import PhoenixSettings
from phoenix.store.database import StateStore
from tasks.llm import retry_unless_final

QUEEN_RETRIES: dict[str, Any] = {
    "retries": 1,
    "retry_delay_seconds": 0.5,
    "retry_condition_fn": retry_unless_final,
}
"""The queen's own calls retry once: each has a fallback, so a long wait buys little."""


def collaborate_run_name() -> str:
    from prefect.runtime import flow_run

    return f"collaborate: {shorten((flow_run.parameters or {}).get('task'), 60)}"


@task(name="plan-subtasks", cache_policy=NO_CACHE, **QUEEN_RETRIES)
def plan_subtasks(
    text: str, agents: list[AgentProfile], settings: PhoenixSettings
) -> tuple[str, TokenUsage]:
    """The queen's plan: the model's answer to "split this task among these agents"."""
    return complete_with_usage(plan_messages(text, agents), settings, temperature=0.2)


@task(name="merge-answers", cache_policy=NO_CACHE, **QUEEN_RETRIES)
def merge_answers(
    text: str, outcomes: list[Outcome], settings: PhoenixSettings
) -> tuple[str, TokenUsage]:
    return complete_with_usage(merge_messages(text, outcomes), settings, temperature=0.2)


def run_subtask(subtask: Subtask, agent_id: str, steps: int | None) -> Outcome:
    """One sub-task as a tool-agent subflow; whatever happens to it becomes its Outcome."""
    base = {"index": subtask.index, "task": subtask.task, "agent": subtask.agent,
            "reason": subtask.reason}  # fmt: skip
    try:
        result = tool_agent(agent=agent_id, task=subtask.task, steps=steps)
    except Exception as error:  # noqa: BLE001 - one sub-task's failure must not sink the others
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        return Outcome(**base, ok=False, error=message)
    if not isinstance(result, dict):  # Prefect's Cancelled state
        return Outcome(**base, ok=False, error="cancelled", stopped="cancelled")
    details = {
        "answer": result.get("answer"), "stopped": result.get("stopped"),
        "steps": result.get("steps") or 0, "calls": len(result.get("calls") or []),
        "run_id": result.get("run_id"), "usage": result.get("usage") or {},
    }  # fmt: skip
    if result.get("type") == "error":
        return Outcome(**base, **details, ok=False, error=str(result.get("message")))
    if result.get("stopped") != "answered":
        error = f"no final answer: {result.get('stopped')} after {details['steps']} steps"
        return Outcome(**base, **details, ok=False, error=error)
    return Outcome(**base, **details, ok=True)


def _run_in_parallel(subtasks: list[Subtask], ids: dict[str, str], steps: int | None) -> list[Outcome]:
    """Every sub-task's tool-agent subflow at once, each on a thread with this run's context.

    Each thread gets a copy of this thread's context (the flow run, Prefect's settings and client,
    the cancel scope), so each subflow is this run's child and stops when it is cancelled.  The
    subflows are started one after the other and then run together: Prefect 3.9.1 numbers a
    parent's subflow runs with an unlocked counter (`dynamic_key_for_task_run`), so two subflows of
    the same flow created at the same instant from two threads can get the same number, and the
    second then re-attaches to the first's run instead of making its own (seen here: one ran
    after the other, under one run id).  Waiting until each run exists (`STARTED`) costs the
    creation of a run, a fraction of a second, per sub-task.
    """
    with ThreadPoolExecutor(max_workers=min(len(subtasks), MAX_SUBTASKS)) as pool:
        futures = []
        for subtask in subtasks:
            started = threading.Event()
            context = contextvars.copy_context()
            context.run(STARTED.set, started)
            futures.append(pool.submit(context.run, run_subtask, subtask, ids[subtask.agent], steps))
            while not started.wait(0.05) and not futures[-1].done():
                pass  # until its flow run exists, or it failed before that
        return [future.result() for future in futures]


def _candidates(store: StateStore, names: list[str] | None) -> list[AgentProfile]:
    """The agents named (each must exist), or every agent with tools (else every tool agent)."""
    from phoenix.store.agents import find_agent, list_agents
    from phoenix.store.assignments import all_assignments

    tools = all_assignments(store)
    if names:
        records = [find_agent(store, name) for name in dict.fromkeys(names)]
    else:
        every = list_agents(store)
        records = [r for r in every if tools.get(r.id)] or [r for r in every if r.kind == "tool"]
    if not records:
        raise BadInput(
            "No agents to collaborate: create one (phoenix agents create NAME --mission TEXT) and"
            " give it tools (phoenix tools assign NAME TOOL)"
        )
    return [
        AgentProfile(id=r.id, name=r.name, mission=r.mission or r.description or "",
                     tools=tools.get(r.id, []))
        for r in records
    ]  # fmt: skip


def _usage(*parts: TokenUsage | dict[str, Any]) -> TokenUsage:
    total = TokenUsage()
    for part in parts:
        total = total + (part if isinstance(part, TokenUsage) else TokenUsage.model_validate(part))
    return total


@flow(name="collaborate", flow_run_name=collaborate_run_name, validate_parameters=True)
def collaborate(
    task: str, agents: list[str] | None = None, steps: int | None = None
) -> dict[str, Any] | State[Any]:
    """The queen splits a task among tool agents, runs the parts in parallel, merges the answers.

    Args:
        task: what should be done.
        agents: only these agents (names or ids); default: every agent with tools.
        steps: step budget of each sub-task (default PHOENIX_TOOL_STEPS, 8).
    """
    from blocks.llm import resolve_settings
    from phoenix.store import open_store

    text = (task or "").strip()
    if not text:
        raise BadInput("Say what the agents should do: the task is empty")
    step_budget(steps)
    profiles = _candidates(open_store(), agents)
    settings = resolve_settings()
    spent: list[TokenUsage | dict[str, Any]] = []
    notes: list[str] = []
    try:
        plan_text, used = plan_subtasks(text, profiles, settings)
        spent.append(used)
        plan = parse_plan(plan_text)
        if plan is None:
            notes.append("The queen's plan was not JSON: the whole task went to one agent.")
    except LLMError as error:
        plan = None
        notes.append(f"The queen could not plan ({error.message}): the whole task went to one agent.")
    subtasks = assign(text, plan, profiles)
    ids = {profile.name: profile.id for profile in profiles}
    outcomes = _run_in_parallel(subtasks, ids, steps)
    spent += [outcome.usage for outcome in outcomes]
    if cancel_requested():
        return Cancelled(message=CANCELLED_MESSAGE)
    succeeded = [outcome for outcome in outcomes if outcome.ok]
    merged_by = "none"
    merged = concatenate(outcomes)
    if succeeded:
        try:
            merged, used = merge_answers(text, outcomes, settings)
            spent.append(used)
            merged_by = "queen"
        except LLMError as error:
            merged_by = "concatenation"
            notes.append(f"The queen could not merge ({error.message}): the answers are concatenated.")
    answer = "\n\n".join([merged, contributions(outcomes), *notes])
    result: dict[str, Any] = {
        "task": text,
        "answer": answer,
        "subtasks": [outcome.model_dump(mode="json") for outcome in outcomes],
        "agents": [profile.name for profile in profiles],
        "planned_by": "queen" if plan is not None else "fallback",
        "merged_by": merged_by,
        "succeeded": len(succeeded),
        "failed": [outcome.index for outcome in outcomes if not outcome.ok],
        "usage": _usage(*spent).model_dump(),
        "notes": notes,
    }
    if not succeeded:
        error = OperationFailed(f"Every sub-task failed ({len(outcomes)}): {contributions(outcomes)}")
        return result | {"type": "error", "message": error.message, "code": error.code}
    return result
