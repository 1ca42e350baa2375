"""Collaboration: how the queen splits a task, picks an agent for each part, and merges the parts.

Pure logic for the `collaborate` flow (no Prefect, LLM or database here):

- **Split.** The queen asks the model for JSON sub-tasks (`plan_messages`); `parse_plan` reads
  whatever came back — a JSON object or array, inside a code fence or prose, items as strings or
  objects — and falls back to one sub-task, the whole task, when nothing usable is found.
- **Assign.** The plan may name an agent for each sub-task; a name among the candidates is taken
  as it is (the model read every agent's mission and tools).  Otherwise `choose_agent` scores each
  candidate: 2 points per assigned tool whose keywords the sub-task mentions ("search", "python",
  "sql"...), 1 per word of four letters or more shared with its mission; the best score wins, ties
  go to the agent with the fewest sub-tasks so far, so work spreads.  Deterministic and explainable:
  each sub-task carries the reason it went where it went.
- **Merge.** The model merges the answers citing the agents (`merge_messages`); if that call fails
  the parts are concatenated (`concatenate`).  Either way `contributions` is appended, written by
  code: which agent did which sub-task, and each failed sub-task by name with its error, so a
  failure is always named in the answer whatever the model wrote.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from phoenix.errors import UsageError

MAX_SUBTASKS = 6
TOOL_KEYWORDS: dict[str, tuple[str, ...]] = {
    "web_search": ("search", "web", "look up", "lookup", "find", "news", "internet", "online",
                   "latest", "source"),
    "code_interpreter": ("code", "python", "javascript", "compute", "calculate", "script",
                         "program", "run", "math", "sum", "plot", "algorithm"),
    "database": ("database", "sql", "query", "knowledge", "memory", "memories", "record",
                 "table", "stored"),
    "terminal": ("terminal", "command", "shell", "file", "directory", "list files", "ls"),
    "sniffer": ("network", "connection", "connections", "traffic", "interface", "port",
                "socket", "bandwidth"),
    "image_generation": ("image", "picture", "draw", "illustration", "photo", "logo"),
    "audio_generation": ("audio", "speech", "voice", "speak", "read aloud", "tts"),
}  # fmt: skip


class AgentProfile(BaseModel):
    """A candidate for sub-tasks: who it is, what it is for, what it may use."""

    id: str
    name: str
    mission: str = ""
    tools: list[str] = Field(default_factory=list)


class Subtask(BaseModel):
    index: int
    task: str
    agent: str
    reason: str


def parse_agent_names(text: str) -> list[str]:
    """`a,b` (spaces allowed) → ["a", "b"]; an empty list is a usage error."""
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    if not names:
        raise UsageError("--agents needs names or ids, separated by commas (a,b)")
    return list(dict.fromkeys(names))


def plan_messages(
    task: str, agents: list[AgentProfile], limit: int = MAX_SUBTASKS
) -> list[dict[str, str]]:
    roster = "\n".join(
        f"- {agent.name}: mission {agent.mission or '(none)'}; tools {', '.join(agent.tools) or 'none'}"
        for agent in agents
    )
    return [
        {
            "role": "system",
            "content": (
                "You are the queen of a team of agents. Split the user's task into independent"
                f" sub-tasks (1 to {limit}) that can run in parallel, and give each to the agent"
                f" whose tools and mission fit it best. The agents:\n{roster}\n"
                'Answer with JSON only: {"subtasks": [{"task": "...", "agent": "name"}]}'
            ),
        },
        {"role": "user", "content": task},
    ]


def _json_values(text: str) -> list[Any]:
    """Every JSON object or array that can be decoded from `text`, outermost first."""
    decoder = json.JSONDecoder()
    found = []
    index = 0
    while index < len(text):
        match = re.compile(r"[\[{]").search(text, index)
        if match is None:
            break
        try:
            value, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            index = match.start() + 1
            continue
        found.append(value)
        index = end
    return found


def _items(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("subtasks", "sub_tasks", "tasks", "steps", "plan"):
            if isinstance(value.get(key), list):
                return value[key]
        if isinstance(value.get("task"), str):
            return [value]
    return None


def parse_plan(text: str | None, limit: int = MAX_SUBTASKS) -> list[tuple[str, str | None]] | None:
    """(sub-task, agent named or None) pairs from the model's plan; None when there is no plan."""
    for value in _json_values(text or ""):
        items = _items(value)
        if not items:
            continue
        parsed: list[tuple[str, str | None]] = []
        for item in items:
            if isinstance(item, str) and item.strip():
                parsed.append((item.strip(), None))
            elif isinstance(item, dict):
                task = item.get("task") or item.get("description") or item.get("subtask")
                agent = item.get("agent") or item.get("assignee")
                if isinstance(task, str) and task.strip():
                    parsed.append((task.strip(), agent.strip() if isinstance(agent, str) else None))
        if parsed:
            return parsed[:limit]
    return None


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if len(word) >= 4}


def score(task: str, agent: AgentProfile) -> tuple[int, list[str]]:
    """The agent's fit for `task`, and the tools that earned it."""
    lowered = f" {task.lower()} "
    fitting = [
        tool for tool in agent.tools
        if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in TOOL_KEYWORDS.get(tool, ()))
    ]  # fmt: skip
    return 2 * len(fitting) + len(_words(task) & _words(agent.mission)), fitting


def choose_agent(
    task: str, agents: list[AgentProfile], load: dict[str, int], named: str | None = None
) -> tuple[AgentProfile, str]:
    """The agent for `task` and why: the plan's choice when it names a candidate, else the best
    score (ties: the least loaded, then the first listed)."""
    if named:
        for agent in agents:
            if named.lower() in (agent.name.lower(), agent.id.lower()):
                return agent, "chosen by the queen's plan"
    ranked = sorted(
        enumerate(agents),
        key=lambda pair: (-score(task, pair[1])[0], load.get(pair[1].name, 0), pair[0]),
    )
    agent = ranked[0][1]
    points, tools = score(task, agent)
    if tools:
        return agent, f"its tools fit: {', '.join(tools)}"
    if points:
        return agent, "its mission fits"
    return agent, "no agent fits better; the least busy one"


def assign(
    task: str, plan: list[tuple[str, str | None]] | None, agents: list[AgentProfile]
) -> list[Subtask]:
    """The plan's sub-tasks (or the whole task as one) each given to an agent."""
    load: dict[str, int] = {}
    subtasks = []
    for index, (text, named) in enumerate(plan or [(task, None)]):
        agent, reason = choose_agent(text, agents, load, named)
        load[agent.name] = load.get(agent.name, 0) + 1
        subtasks.append(Subtask(index=index + 1, task=text, agent=agent.name, reason=reason))
    return subtasks


class Outcome(BaseModel):
    """What one sub-task gave: the agent's answer, or why it failed."""

    index: int
    task: str
    agent: str
    reason: str = ""
    ok: bool
    answer: str | None = None
    error: str | None = None
    stopped: str | None = None
    steps: int = 0
    calls: int = 0
    run_id: str | None = None
    usage: dict[str, Any] = Field(default_factory=dict)


def merge_messages(task: str, outcomes: list[Outcome]) -> list[dict[str, str]]:
    parts = []
    for outcome in outcomes:
        head = f"Sub-task {outcome.index} ({outcome.task}) by agent {outcome.agent}"
        parts.append(f"{head}:\n{outcome.answer}" if outcome.ok else f"{head}: FAILED ({outcome.error})")
    return [
        {
            "role": "system",
            "content": (
                "You are the queen of a team of agents. Merge their results into one answer to the"
                " user's task. Cite which agent did what, as (agent NAME). If a sub-task failed,"
                " say which and what is missing because of it."
            ),
        },
        {"role": "user", "content": f"Task: {task}\n\n" + "\n\n".join(parts)},
    ]


def concatenate(outcomes: list[Outcome]) -> str:
    """The parts one after the other: the answer when the merge call failed."""
    return (
        "\n\n".join(f"Sub-task {o.index} (agent {o.agent}): {o.answer}" for o in outcomes if o.ok)
        or "No sub-task succeeded."
    )


def contributions(outcomes: list[Outcome]) -> str:
    """Who did what, and each failure by name: appended to every answer by code, not the model."""
    lines = ["Contributions:"]
    for outcome in outcomes:
        if outcome.ok:
            lines.append(f'- sub-task {outcome.index} "{outcome.task}": agent {outcome.agent}')
        else:
            lines.append(
                f'- sub-task {outcome.index} "{outcome.task}": agent {outcome.agent} FAILED:'
                f" {outcome.error}"
            )
    return "\n".join(lines)
