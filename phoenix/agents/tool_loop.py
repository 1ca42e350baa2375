"""The tool agent's loop: an LLM that may call only its agent's assigned tools, for a step budget.

Pure logic, no Prefect and no database: the tool-agent flow passes in how to ask the model (a task
with retries), how to run a tool (the `tool` task) and how to record a call (the `tool_calls`
table), so the rules live in one place and read top to bottom:

- the model is offered only the assigned tools (the `tools` of its request list nothing else);
- a call of any other tool, known or not, is refused without running anything: the refusal goes
  back to the model as the call's tool message, and is recorded (`allowed` false);
- a malformed call — arguments that are not a JSON object, or that fail the tool's schema — is
  answered with the error, recorded (`allowed` true, `ok` false) and not run;
- a step is one request to the model; the loop ends with the model's first reply that calls no
  tool (its text is the answer), or when the budget is spent ("budget": a partial result with every
  call made, not a failure), or when the model cannot be reached ("error", the calls kept).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from phoenix.errors import UsageError
from phoenix.llm.client import ChatReply, LLMError, TokenUsage
from phoenix.settings import validate_environment
from phoenix.tools.registry import TOOLS
from phoenix.tools.run import ToolResult, argument_errors

STEPS_MAX = 50
TO_MODEL_MAX = 8000
"""Characters of one tool output sent back to the model (the rest is cut, and it is told so)."""
KEPT_MAX = 20_000
"""Characters of one tool output kept in the result and the `tool_calls` table."""


class ToolLoopSettings(BaseModel):
    """The loop's settings: `PHOENIX_TOOL_STEPS` (default 8) is the step budget of a run that
    names none."""

    steps: int = Field(default=8, ge=1, le=STEPS_MAX, description="Model requests per run.")


VARIABLES = {"PHOENIX_TOOL_STEPS": "steps"}


def load_loop_settings(environ: Mapping[str, str] | None = None) -> ToolLoopSettings:
    import os

    environ = os.environ if environ is None else environ
    return validate_environment(ToolLoopSettings, VARIABLES, environ, heading="Invalid setting: ")


def step_budget(steps: int | None, environ: Mapping[str, str] | None = None) -> int:
    """`steps` checked (1..STEPS_MAX), or the configured default when None."""
    if steps is None:
        return load_loop_settings(environ).steps
    if not 1 <= steps <= STEPS_MAX:
        raise UsageError(f"--steps must be between 1 and {STEPS_MAX}, not {steps}")
    return steps


Stopped = Literal["answered", "budget", "error", "cancelled"]


class CallRecord(BaseModel):
    """One tool call the model asked for, and what became of it."""

    step: int
    tool: str
    arguments: dict[str, Any] | str = Field(
        description="The parsed arguments, or the raw text when they were not a JSON object."
    )
    allowed: bool = Field(description="Whether the tool is one of the agent's assigned tools.")
    ok: bool
    output: str | None = None
    error: str | None = None
    duration_s: float = 0.0

    def shown(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class LoopResult(BaseModel):
    answer: str
    steps: int = Field(description="Requests made to the model.")
    calls: list[CallRecord] = Field(default_factory=list)
    usage: TokenUsage = Field(default_factory=TokenUsage)
    stopped: Stopped
    error: str | None = None
    error_code: str | None = None


ChatFn = Callable[[list[dict[str, Any]], list[dict[str, Any]], int], ChatReply]
"""(messages, tools, step) -> the model's reply; raises `LLMError` when it cannot answer."""
ToolFn = Callable[[str, dict[str, Any]], ToolResult]
RecordFn = Callable[[CallRecord], None]


def system_prompt(name: str, mission: str | None, tools: list[str]) -> str:
    """The agent's identity, its mission and its tools, and how to finish."""
    lines = [f"You are {name}, an agent of Phoenix."]
    if mission:
        lines.append(f"Your mission: {mission}")
    if tools:
        lines.append(
            f"You may call only these tools: {', '.join(tools)}. Call a tool when it helps; read"
            " its output, then call another or answer."
        )
    else:
        lines.append("You have no tools: answer from what you know.")
    lines.append("When you have the answer, reply with it as plain text and call no tool.")
    return "\n".join(lines)


def parse_arguments(tool: str, raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """The call's arguments as an object that fits the tool's schema, or why they are not one."""
    text = (raw or "").strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"the arguments are not valid JSON ({error.msg} at character {error.pos})"
    if not isinstance(value, dict):
        return None, f"the arguments must be a JSON object, not {type(value).__name__}"
    problems = argument_errors(tool, value)
    if problems:
        return None, "the arguments do not fit the tool's schema: " + "; ".join(problems)
    return value, None


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters cut]"


def handle_call(
    name: str, raw_arguments: str, step: int, allowed: list[str], run_tool: ToolFn
) -> CallRecord:
    """One call checked against the agent's tools and the tool's schema, run only if both pass."""
    if name not in allowed:
        why = "is not a tool" if name not in TOOLS else "is not assigned to this agent"
        parsed: dict[str, Any] | str
        try:
            loaded = json.loads(raw_arguments or "{}")
            parsed = loaded if isinstance(loaded, dict) else raw_arguments
        except json.JSONDecodeError:
            parsed = raw_arguments
        return CallRecord(
            step=step, tool=name, arguments=parsed, allowed=False, ok=False,
            error=f"Refused: {name!r} {why}; this agent's tools: {', '.join(allowed) or 'none'}",
        )  # fmt: skip
    arguments, problem = parse_arguments(name, raw_arguments)
    if arguments is None:
        return CallRecord(
            step=step, tool=name, arguments=raw_arguments, allowed=True, ok=False,
            error=f"Malformed call: {problem}",
        )  # fmt: skip
    result = run_tool(name, arguments)
    return CallRecord(
        step=step, tool=name, arguments=arguments, allowed=True, ok=result.ok,
        output=_cut(result.output, KEPT_MAX), error=_cut(result.error, KEPT_MAX),
        duration_s=result.duration_s,
    )  # fmt: skip


def tool_message(record: CallRecord) -> str:
    """What the model reads back for a call: the output, or the error and what to do about it."""
    if record.ok:
        return _cut(record.output or "(no output)", TO_MODEL_MAX) or ""
    hint = ""
    if record.error and record.error.startswith("Malformed call"):
        hint = f" Call {record.tool} again with a JSON object that fits its schema."
    return _cut(f"Error: {record.error}{hint}", TO_MODEL_MAX) or ""


def _assistant_message(reply: ChatReply) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": reply.content,
        "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": call.arguments}}
            for call in reply.tool_calls
        ],
    }  # fmt: skip


def run_loop(
    *,
    name: str,
    mission: str | None,
    task: str,
    allowed: list[str],
    steps: int,
    chat: ChatFn,
    run_tool: ToolFn,
    record: RecordFn,
    cancelled: Callable[[], bool] = lambda: False,
) -> LoopResult:
    """Ask, run the allowed calls, feed their outputs back, until an answer or the budget's end."""
    tools = [TOOLS[tool].as_openai_tool() for tool in allowed if tool in TOOLS]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system_prompt(name, mission, allowed)},
        {"role": "user", "content": task},
    ]
    calls: list[CallRecord] = []
    usage = TokenUsage()
    last_text: str | None = None
    for step in range(1, steps + 1):
        if cancelled():
            return LoopResult(answer="Cancelled.", steps=step - 1, calls=calls, usage=usage,
                              stopped="cancelled")  # fmt: skip
        try:
            reply = chat(messages, tools, step)
        except LLMError as error:
            return LoopResult(
                answer=f"The model could not be reached at step {step}: {error.message}",
                steps=step, calls=calls, usage=usage, stopped="error",
                error=error.message, error_code=error.code,
            )  # fmt: skip
        usage = usage + reply.usage
        if not reply.tool_calls:
            return LoopResult(answer=reply.content or "", steps=step, calls=calls, usage=usage,
                              stopped="answered")  # fmt: skip
        last_text = reply.content or last_text
        messages.append(_assistant_message(reply))
        for call in reply.tool_calls:
            done = handle_call(call.name, call.arguments, step, allowed, run_tool)
            record(done)
            calls.append(done)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": tool_message(done)})
    answer = f"Step budget exhausted: {steps} steps without a final answer."
    if last_text:
        answer += f" The model's last note: {last_text}"
    return LoopResult(answer=answer, steps=steps, calls=calls, usage=usage, stopped="budget")
