"""tool-agent: one agent works on one task with its assigned tools (`phoenix agents run AGENT TASK`).

The loop's rules are `phoenix.agents.tool_loop`'s; this flow gives it Prefect's parts: each model
request is a task (`agent-step`, retried on a retryable LLM error), each allowed tool call is the
`tool` task (`tasks.tools.run_tool_task`), each call the model asks for — run, refused or malformed
— is a row of `tool_calls` written as it happens (so a run that dies midway keeps its record), and
the run ends with a table artifact of its calls.  A spent step budget is a partial result, not a
failure; a model that cannot be reached is a failed result that still carries its calls.
"""

from __future__ import annotations

import contextvars
import threading
import uuid
from typing import Any

from prefect import State, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled

from flows.run_names import shorten
from phoenix.agents.tool_loop import CallRecord, LoopResult, run_loop, step_budget
from phoenix.cancellation import CANCELLED_MESSAGE
from phoenix.errors import BadInput
from phoenix.llm.client import ChatReply, chat
from phoenix.settings import PhoenixSettings
from phoenix.store.agents import ToolCallRow, find_agent, save_tool_call
from tasks.llm import LLM_RETRIES

STARTED: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "tool_agent_started", default=None
)
"""Set by a caller that starts several runs at once (collaborate): the event is set once this
run's flow run exists, so the caller can start the next one (see `flows.collaborate`)."""

OUTPUT_SHOWN = 300
"""Characters of a tool's output in the run's artifact (the full output is in the result)."""


def tool_agent_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = dict(flow_run.parameters or {})
    return f"{shorten(parameters.get('agent'), 30)}: {shorten(parameters.get('task'), 50)}"


@task(name="agent-step", task_run_name="step-{step}", cache_policy=NO_CACHE, **LLM_RETRIES)
def agent_step(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], step: int, settings: PhoenixSettings
) -> ChatReply:
    """One request to the model: the conversation so far, and the agent's tools only."""
    return chat(messages, settings, tools=tools or None)


def _run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


def _publish_calls(agent: str, task_text: str, result: LoopResult) -> None:
    from prefect.artifacts import create_table_artifact

    from tasks.artifacts import artifact_key

    rows = [
        {
            "step": call.step,
            "tool": call.tool,
            "allowed": call.allowed,
            "ok": call.ok,
            "output or error": shorten(call.output if call.ok else call.error, OUTPUT_SHOWN),
            "seconds": round(call.duration_s, 3),
        }
        for call in result.calls
    ]
    create_table_artifact(
        table=rows or [{"step": "", "tool": "(no tool calls)"}],
        key=artifact_key("tool-agent", agent),
        description=(
            f"{agent}: {shorten(task_text, 120)} — {result.stopped} after {result.steps} steps,"
            f" {len(result.calls)} tool calls ({sum(not c.allowed for c in result.calls)} refused)."
        ),
    )


@flow(name="tool-agent", flow_run_name=tool_agent_run_name, validate_parameters=True)
def tool_agent(agent: str, task: str, steps: int | None = None) -> dict[str, Any] | State[Any]:
    """Have an agent work on a task with its assigned tools; only those can run.

    Args:
        agent: the agent's name or id (`phoenix agents list`).
        task: what the agent should do.
        steps: most requests to the model (default PHOENIX_TOOL_STEPS, 8).
    """
    from blocks.llm import resolve_settings
    from blocks.tools import resolve_tool_settings
    from phoenix.cancellation import cancel_requested
    from phoenix.store import open_store
    from phoenix.store.assignments import assigned_tools
    from tasks.tools import run_tool_task

    started = STARTED.get()
    if started is not None:
        started.set()
    text = (task or "").strip()
    if not text:
        raise BadInput("Say what the agent should do: the task is empty")
    budget = step_budget(steps)
    store = open_store()
    record = find_agent(store, agent)
    allowed = assigned_tools(store, record.id)
    settings = resolve_settings()
    tool_settings = resolve_tool_settings()
    run_id = _run_id()

    def save(call: CallRecord) -> None:
        save_tool_call(
            store,
            ToolCallRow(id=uuid.uuid4().hex, run_id=run_id, agent_id=record.id,
                        **call.model_dump(exclude={"duration_s"}), duration_s=call.duration_s),
        )  # fmt: skip

    result = run_loop(
        name=record.name,
        mission=record.mission or record.description or None,
        task=text,
        allowed=allowed,
        steps=budget,
        chat=lambda messages, tools, step: agent_step(messages, tools, step, settings),
        run_tool=lambda name, arguments: run_tool_task(name, arguments, tool_settings),
        record=save,
        cancelled=cancel_requested,
    )
    _publish_calls(record.name, text, result)
    shown: dict[str, Any] = {
        "agent": record.name,
        "agent_id": record.id,
        "task": text,
        "tools": allowed,
        "answer": result.answer,
        "steps": result.steps,
        "budget": budget,
        "calls": [call.shown() for call in result.calls],
        "usage": result.usage.model_dump(),
        "stopped": result.stopped,
        "run_id": run_id,
    }
    if result.stopped == "cancelled":  # Prefect's Cancelled: the caller went away
        return Cancelled(message=CANCELLED_MESSAGE)
    if result.stopped == "error":
        return shown | {"type": "error", "message": result.answer, "code": result.error_code}
    return shown
