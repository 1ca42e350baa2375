"""The tool agent: agents created and listed, and the loop run through the real flow against the
scripted chat server — assigned tools run (one for real in the sandbox), others are refused,
malformed calls are reported, the budget ends a run, every call is recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flows import run_flow
from phoenix.errors import BadInput, Conflict, NotFound
from phoenix.testing.chat_server import count_words
from tests.conftest import PHOENIX, ChatServer


def _tool_messages(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m.get("role") == "tool"]


def _agent(name: str, mission: str, *tools: str) -> dict[str, Any]:
    created = run_flow("agents", {"action": "create", "name": name, "mission": mission})
    for tool in tools:
        run_flow("tools", {"action": "assign", "agent": name, "tool": tool})
    return created


def test_agents_are_created_listed_with_their_tools_and_names_are_unique(phoenix_home: Path) -> None:
    created = _agent("scout", "finds facts on the web", "web_search")
    assert created["kind"] == "tool" and created["status"] == "ready"
    assert created["mission"] == "finds facts on the web" and created["repo_url"] is None
    with pytest.raises(Conflict, match="already exists"):
        run_flow("agents", {"action": "create", "name": "scout", "mission": "again"})
    items = run_flow("agents", {"action": "list"})["items"]
    assert [(i["name"], i["tools"], i["kind"]) for i in items] == [("scout", ["web_search"], "tool")]
    assert run_flow("agents", {"action": "show", "agent_id": "scout"})["id"] == created["id"]
    for impostor in (created["id"], "0123456789"):  # find_agent reads ids first: no shadowing
        with pytest.raises(BadInput, match="look like an agent id"):
            run_flow("agents", {"action": "create", "name": impostor, "mission": "x"})
    with pytest.raises(NotFound):
        run_flow("tool-agent", {"agent": "nobody", "task": "anything"})


def test_the_loop_runs_assigned_tools_refuses_others_and_reports_malformed_calls(
    chat: ChatServer, phoenix_home: Path
) -> None:
    _agent("calc", "computes things", "code_interpreter", "web_search")
    replies: list[Any] = [
        {"tool_calls": [
            {"name": "code_interpreter", "arguments": {"code": "print(6 * 7)"}},
            {"name": "terminal", "arguments": {"argv": ["ls"]}},
        ]},
        {"tool_calls": [
            {"name": "code_interpreter", "arguments": '{"code": "print(1"'},
            {"name": "code_interpreter", "arguments": {"code": "1", "language": "cobol"}},
            {"name": "rm_rf", "arguments": {}},
        ]},
        "The answer is 42.",
    ]  # fmt: skip
    chat.control(replies=replies)
    result = run_flow("tool-agent", {"agent": "calc", "task": "What is six times seven?"})

    assert result["stopped"] == "answered" and result["answer"] == "The answer is 42."
    assert result["steps"] == 3 and result["tools"] == ["web_search", "code_interpreter"]
    calls = [(c["step"], c["tool"], c["allowed"], c["ok"]) for c in result["calls"]]
    assert calls == [
        (1, "code_interpreter", True, True),
        (1, "terminal", False, False),
        (2, "code_interpreter", True, False),
        (2, "code_interpreter", True, False),
        (2, "rm_rf", False, False),
    ]
    assert result["calls"][0]["output"].strip() == "42"  # really run, in the sandbox
    assert "not valid JSON" in result["calls"][2]["error"]
    assert "cobol" in result["calls"][3]["error"]

    requests = chat.requests()
    assert len(requests) == 3
    offered = {tool["function"]["name"] for request in requests for tool in request["tools"]}
    assert offered == {"code_interpreter", "web_search"}  # only the assigned tools, every step
    assert "calc" in requests[0]["messages"][0]["content"]
    assert "computes things" in requests[0]["messages"][0]["content"]
    first, second = _tool_messages(requests[1]), _tool_messages(requests[2])[2:]
    assert first[0].strip() == "42"  # the output reached the model's next request
    assert "Refused" in first[1] and "terminal" in first[1]
    assert "not valid JSON" in second[0] and "schema" in second[1] and "Refused" in second[2]

    prompt = sum(count_words(m.get("content")) for r in requests for m in r["messages"])
    assert result["usage"]["prompt_tokens"] == prompt
    completion = sum(  # the words of the answer and of the calls' arguments, as the server counts
        count_words(r) if isinstance(r, str) else count_words([c["arguments"] for c in r["tool_calls"]])
        for r in replies
    )
    assert result["usage"]["completion_tokens"] == completion == 12

    from phoenix.store import open_store
    from phoenix.store.agents import tool_calls_of_run

    rows = tool_calls_of_run(open_store(), result["run_id"])
    assert [(r.tool, r.allowed, r.ok) for r in rows] == [(t, a, o) for _, t, a, o in calls]
    assert rows[2].arguments == '{"code": "print(1"' and rows[0].output.strip() == "42"


def test_a_spent_step_budget_is_a_partial_result(
    chat: ChatServer, phoenix_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMULATED_TOOLS_MOCK", "true")
    monkeypatch.setenv("PHOENIX_TOOL_STEPS", "2")
    _agent("looper", "searches forever", "web_search")
    chat.control(replies=[{"content": "still looking", "tool_calls": [
        {"name": "web_search", "arguments": {"query": "phoenix"}}]}])  # fmt: skip
    result = run_flow("tool-agent", {"agent": "looper", "task": "Find everything"})
    assert result["stopped"] == "budget" and result["steps"] == 2 and result["budget"] == 2
    assert "type" not in result  # a partial result, not a failure
    assert "Step budget exhausted" in result["answer"] and "still looking" in result["answer"]
    assert [c["ok"] for c in result["calls"]] == [True, True]
    assert len(chat.requests()) == 2


def test_cli_agents_run_human_and_json(chat: ChatServer, phoenix_home: Path) -> None:
    import os

    _agent("helper", "answers", "web_search")
    chat.control(replies=["Done: nothing to do."])
    environment = dict(os.environ) | {"PHOENIX_CLI_IN_PROCESS": "1"}
    shown = subprocess.run(
        [PHOENIX, "agents", "run", "helper", "say", "hi"],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "Done: nothing to do." in shown.stdout and "helper" in shown.stdout
    assert not shown.stdout.lstrip().startswith("{")
    bad = subprocess.run(
        [PHOENIX, "--json", "agents", "run", "helper", "hi", "--steps", "0"],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and json.loads(bad.stdout)["code"] == "usage_error"
