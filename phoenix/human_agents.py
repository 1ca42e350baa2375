"""How `phoenix spawn`, `phoenix agents …`, `phoenix collaborate` and `phoenix pr …` read for
people (see `phoenix.human`).

A spawn says where its agent is and what happens next: a pull request waiting names what it waits
for and the command that approves it; an aborted spawn keeps its report's figures and says why on
stderr.  A tool agent's run shows its calls as a table (refused ones marked) and then its answer;
a collaboration shows who did which sub-task and then the merged answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Result = dict[str, Any]


def _tests(report: Result | None) -> str | None:
    if not report:
        return None
    verdict = "passed" if report.get("passed") else f"failed (exit status {report.get('exit_code')})"
    return f"{verdict} in {float(report.get('duration_s') or 0):.1f} s"


def _status(record: Result) -> str | None:
    """`awaiting_approval: waiting for an approval from someone other than phoenix-bot`."""
    status, waiting = record.get("status"), record.get("waiting_for")
    return f"{status}: {waiting}" if status and waiting else status


def agent_fields(record: Result, screen: Any) -> None:
    attempts = record.get("attempts")
    screen.fields(
        f"Agent {record.get('name')} ({record.get('id')})",
        [
            ("Status", _status(record)),
            ("Kind", record.get("kind")),
            ("Mission", record.get("mission")),
            ("Tools", ", ".join(record.get("tools") or []) or None),
            ("Tier", record.get("tier") if record.get("kind") != "tool" else None),
            ("Repository", record.get("repo_url")),
            ("Pull request", record.get("pr_url")),
            ("Tests", _tests(record.get("test_report"))),
            ("Attempts", attempts if attempts and attempts > 1 else None),
            ("Code by", record.get("model")),
            ("Note", record.get("error") if record.get("type") != "error" and not
             record.get("waiting_for") else None),
        ],
    )  # fmt: skip


def pull_id(record: Result) -> str | None:
    """`owner/repo#n` from an agent's PR URL (`…/owner/repo/pull/n`)."""
    url = str(record.get("pr_url") or "")
    parts = url.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "pull":
        return f"{parts[-4]}/{parts[-3]}#{parts[-1]}"
    return None


def spawn(record: Result, screen: Any) -> None:
    agent_fields(record, screen)
    status = record.get("status")
    target = pull_id(record)
    if status == "awaiting_approval" and target:
        screen.note(f"Next: review it, then `phoenix pr approve {target}`; it merges once approved.")
    elif status == "awaiting_ci" and target:
        screen.note("Next: CI runs on the pull request's head; `phoenix pr list` shows its state.")


def agents_list(result: Result, screen: Any) -> None:
    items = result.get("items") or []
    if not items:
        screen.line(
            "No agents yet. Create one: phoenix agents create scout --mission 'finds facts'"
            " (or spawn one: phoenix spawn 'weather-bot: reports the weather')"
        )
        return
    screen.table(
        f"Showing {len(items)} agent{'s' if len(items) != 1 else ''}",
        ["id", "name", "kind", "status", "mission / tools", "tests", "pr"],
        [
            (item.get("id"), item.get("name"), item.get("kind"), item.get("status"),
             _mission_and_tools(item), _tests(item.get("test_report")),
             f"#{item['pr_number']}" if item.get("pr_number") else "")
            for item in items
        ],
    )  # fmt: skip


def _mission_and_tools(item: Result) -> str:
    """`mission [tool, tool]`, the mission cut short: what the list needs to tell agents apart."""
    mission = " ".join(str(item.get("mission") or "").split())
    if len(mission) > 40:
        mission = mission[:39].rstrip() + "…"
    tools = ", ".join(item.get("tools") or [])
    return " ".join(part for part in (mission, f"[{tools}]" if tools else "") if part)


def _cell(text: Any, limit: int = 60) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _tokens(usage: Result | None) -> str | None:
    if not usage:
        return None
    cost = usage.get("cost_usd")
    priced = f", ${cost:.4f}" if isinstance(cost, int | float) else ""
    return f"{usage.get('prompt_tokens', 0)} in, {usage.get('completion_tokens', 0)} out{priced}"


def agent_run(result: Result, screen: Any) -> None:
    """`phoenix agents run`: how it ended, its calls, then the answer."""
    calls = result.get("calls") or []
    refused = sum(not call.get("allowed") for call in calls)
    screen.fields(
        f"Agent {result.get('agent')}: {_cell(result.get('task'))}",
        [
            ("Stopped", f"{result.get('stopped')} after {result.get('steps')} of"
                        f" {result.get('budget')} steps"),
            ("Tools", ", ".join(result.get("tools") or []) or "none"),
            ("Calls", f"{len(calls)} ({refused} refused)" if calls else None),
            ("Tokens", _tokens(result.get("usage"))),
        ],
    )  # fmt: skip
    if calls:
        screen.table(
            "Tool calls",
            ["step", "tool", "result"],
            [
                (call.get("step"), call.get("tool"),
                 ("ok: " + _cell(call.get("output"))) if call.get("ok")
                 else ("refused: " if not call.get("allowed") else "error: ")
                 + _cell(call.get("error")))
                for call in calls
            ],
        )  # fmt: skip
    screen.line("")
    screen.line(str(result.get("answer") or ""))


def collaborate(result: Result, screen: Any) -> None:
    """`phoenix collaborate`: each sub-task, its agent and outcome, then the merged answer."""
    subtasks = result.get("subtasks") or []
    screen.table(
        f"{result.get('succeeded', 0)} of {len(subtasks)} sub-tasks done"
        f" (plan: {result.get('planned_by')}, merge: {result.get('merged_by')})",
        ["#", "agent", "sub-task", "outcome"],
        [
            (item.get("index"), item.get("agent"), _cell(item.get("task"), 50),
             "done" if item.get("ok") else "FAILED: " + _cell(item.get("error"), 50))
            for item in subtasks
        ],
    )  # fmt: skip
    screen.line("")
    screen.line(str(result.get("answer") or ""))


def pr_list(result: Result, screen: Any) -> None:
    items = result.get("items") or []
    if not items:
        screen.line("No pull requests. `phoenix spawn` opens one for each agent it publishes.")
        return
    screen.table(
        f"Showing {len(items)} pull request{'s' if len(items) != 1 else ''}",
        ["id", "state", "ci", "approvals", "head"],
        [
            (item.get("id"), "merged" if item.get("merged") else item.get("state"), item.get("ci"),
             ", ".join(item.get("approvals") or []) or "none", str(item.get("head_sha") or "")[:12])
            for item in items
        ],
    )  # fmt: skip


def pr_action(result: Result, screen: Any) -> None:
    screen.fields(
        f"Pull request {result.get('id')}",
        [(key.replace("_", " ").capitalize(), _plain(value)) for key, value in result.items()
         if key not in ("id", "type", "message", "code")],
    )  # fmt: skip
    if result.get("message") and result.get("type") != "error":
        screen.line(str(result["message"]))


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or None
    return value


RENDERERS: dict[str, Callable[[Result, Any], None]] = {
    "spawn": spawn,
    "agents.show": agent_fields,
    "agents.list": agents_list,
    "agents.create": agent_fields,
    "agents.run": agent_run,
    "collaborate": collaborate,
    "pr.list": pr_list,
    "pr.approve": pr_action,
    "pr.merge": pr_action,
}
