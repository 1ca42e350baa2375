"""How `phoenix spawn`, `phoenix agents …` and `phoenix pr …` read for people (see `phoenix.human`).

A spawn says where its agent is and what happens next: a pull request waiting names what it waits
for and the command that approves it; an aborted spawn keeps its report's figures and says why on
stderr.
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
            ("Tier", record.get("tier")),
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
        screen.line("No agents yet. Spawn one: phoenix spawn 'weather-bot: reports the weather'")
        return
    screen.table(
        f"Showing {len(items)} agent{'s' if len(items) != 1 else ''}",
        ["id", "name", "tier", "status", "tests", "pr"],
        [
            (item.get("id"), item.get("name"), item.get("tier"), item.get("status"),
             _tests(item.get("test_report")), f"#{item['pr_number']}" if item.get("pr_number") else "")
            for item in items
        ],
    )  # fmt: skip


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
    "pr.list": pr_list,
    "pr.approve": pr_action,
    "pr.merge": pr_action,
}
