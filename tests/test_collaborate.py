"""collaborate: the queen's plan, each sub-task given to the agent whose tools fit, the parts run
in parallel as tool-agent subflows, and one answer that says who did what — even when a part
fails or the merge does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows import run_flow
from tests.conftest import ChatServer


@pytest.fixture
def team(chat: ChatServer, phoenix_home: Path, monkeypatch: pytest.MonkeyPatch) -> ChatServer:
    """Two tool agents (a searcher and a coder) and a third without tools, tools mocked."""
    monkeypatch.setenv("SIMULATED_TOOLS_MOCK", "true")
    for name, mission, tool in [
        ("searcher", "finds facts on the web", "web_search"),
        ("coder", "computes numbers", "code_interpreter"),
    ]:
        run_flow("agents", {"action": "create", "name": name, "mission": mission})
        run_flow("tools", {"action": "assign", "agent": name, "tool": tool})
    run_flow("agents", {"action": "create", "name": "idle", "mission": "nothing"})
    return chat


def test_parts_run_in_parallel_on_the_fitting_agents_and_the_queen_merges(team: ChatServer) -> None:
    plan = {"subtasks": [{"task": "Search the web for the population of France"},
                         {"task": "Calculate 68 / 2 with python"}]}  # fmt: skip
    # Each answer takes 4 s, so the two sub-agents' requests overlap even when the second
    # subflow starts late on a loaded machine (at 1 s, CI once saw them one after the other).
    team.control(
        latency_s=4.0,
        replies=[f"Here is the plan:\n```json\n{json.dumps(plan)}\n```", "68 million", "68 million",
                 "France has 68 million people (agent searcher); half is 34 (agent coder)."],
    )  # fmt: skip
    envelope = run_flow("router", {"command": "collaborate How many people live in France?"})

    assert envelope["type"] == "collaborate", envelope
    assert [(s["index"], s["agent"], s["ok"]) for s in envelope["subtasks"]] == [
        (1, "searcher", True), (2, "coder", True),
    ]  # fmt: skip
    assert "web_search" in envelope["subtasks"][0]["reason"]
    assert "code_interpreter" in envelope["subtasks"][1]["reason"]
    assert envelope["planned_by"] == "queen" and envelope["merged_by"] == "queen"
    assert envelope["message"].startswith("France has 68 million people (agent searcher)")
    assert "Contributions:" in envelope["answer"] and envelope["failed"] == []
    assert envelope["agents"] == ["searcher", "coder"]  # the agent without tools is no candidate
    assert team.stats()["max_in_flight"] == 2  # the two sub-agents asked the model at once
    assert len({s["run_id"] for s in envelope["subtasks"]}) == 2  # a subflow run each
    requests = team.requests()
    assert len(requests) == 4
    merge = requests[-1]["messages"][-1]["content"]
    assert "agent searcher" in merge and "agent coder" in merge
    subagent_tools = sorted(r["tools"][0]["function"]["name"] for r in requests[1:3])
    assert subagent_tools == ["code_interpreter", "web_search"]
    expected = sum(s["usage"]["prompt_tokens"] for s in envelope["subtasks"])
    assert envelope["usage"]["prompt_tokens"] > expected > 0  # plan + parts + merge


def test_a_failed_part_is_named_and_never_sinks_the_run(team: ChatServer) -> None:
    plan = [{"task": "Search the web for the population of France", "agent": "searcher"},
            {"task": "Compute the growth rate FAIL-ME", "agent": "coder"}]  # fmt: skip
    team.control(
        fail_when_contains="FAIL-ME",
        replies=[json.dumps(plan)] + ["France has 68 million people."] * 6,
    )
    result = run_flow(
        "collaborate", {"task": "Describe France's population", "agents": ["searcher", "coder"]}
    )
    assert "type" not in result, result  # degraded, not failed
    assert result["succeeded"] == 1 and result["failed"] == [2]
    assert [s["reason"] for s in result["subtasks"]] == ["chosen by the queen's plan"] * 2
    failed = result["subtasks"][1]
    assert failed["agent"] == "coder" and not failed["ok"] and "scripted failure" in failed["error"]
    # The merge prompt names the failed part too, so the scripted server fails it: concatenation.
    assert result["merged_by"] == "concatenation"
    answer = result["answer"]
    assert "Sub-task 1 (agent searcher): France has 68 million people." in answer
    assert 'sub-task 2 "Compute the growth rate FAIL-ME": agent coder FAILED' in answer
    assert "could not merge" in answer


def test_a_plan_that_is_not_json_is_one_subtask(team: ChatServer) -> None:
    team.control(replies=["I would rather not plan.", "Answered whole.", "Merged whole."])
    parameters = {"task": "search the web for news", "agents": ["coder", "searcher"]}
    result = run_flow("collaborate", parameters)
    assert result["planned_by"] == "fallback" and "not JSON" in result["answer"]
    assert [(s["task"], s["agent"]) for s in result["subtasks"]] == [
        ("search the web for news", "searcher")
    ]
    assert result["answer"].startswith("Merged whole.")
