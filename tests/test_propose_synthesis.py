"""The queen aggregates: proposals grouped into ideas with the real embedding model, ranked by an LLM
judge, and what each run cost — against the scripted chat server, whose usage counts (words) a test
recomputes from what it received.
"""

from __future__ import annotations

import io
import json
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows import run_flow
from phoenix.human import Screen, show
from phoenix.llm.client import TokenUsage
from phoenix.llm.synthesis import (
    MAX_JUDGED_GROUPS,
    IdeaGroup,
    JudgeUnparsable,
    Synthesis,
    apply_ranking,
    cluster,
    parse_ranking,
)
from phoenix.settings import load_settings
from phoenix.store import open_store
from phoenix.store.proposals import ProposalResult, ProposeRun, load_run, run_usage, save_run
from phoenix.testing.chat_server import count_words
from tests.conftest import ChatServer
from tests.postgres_server import fresh_database, postgres_server

__all__ = ["postgres_server"]  # the session fixture, imported for pytest

SEED = "a todo web app"
PARAPHRASES = [
    "Cache the results of frequent database queries in Redis so that list pages load faster.",
    "Add a Redis cache in front of the database for the most common queries to cut page load time.",
    "Speed up the app by caching hot database query results in an in-memory store like Redis.",
]
DISTINCT = "Make every form field have a label and keyboard focus styles for screen reader users."
JUDGE_WORDS = "Rank these"
"""Words only the judge's prompt holds (an ORCH's prompt never does)."""


def propose(n: int, **parameters: Any) -> dict[str, Any]:
    return run_flow("propose-improvements", {"seed": SEED, "n": n, **parameters})


def is_judge(request: dict[str, Any]) -> bool:
    return any(JUDGE_WORDS in str(m.get("content")) for m in request["messages"])


def orch_index(request: dict[str, Any]) -> int:
    system = next(m["content"] for m in request["messages"] if m["role"] == "system")
    return int(system.removeprefix("You are ORCH-").split(",", 1)[0])


def prompt_words(request: dict[str, Any]) -> int:
    """The prompt tokens the scripted server reported for `request`."""
    return sum(count_words(message.get("content")) for message in request["messages"])


def script_four_orchs(chat: ChatServer, judge_reply: str) -> None:
    """Four ORCHs, each given one of three paraphrases or the distinct idea, then the judge."""
    chat.control(replies=[*PARAPHRASES, DISTINCT, judge_reply])


def test_paraphrases_are_one_idea_ranked_by_the_judge_and_every_token_is_counted(
    chat: ChatServer,
) -> None:
    script_four_orchs(chat, 'Here you go: {"ranking": [2, 1]}')
    result = propose(4)

    # Every raw proposal is kept, in index order.
    assert [r["index"] for r in result["results"]] == [0, 1, 2, 3]
    proposals = {r["index"]: r["proposal"] for r in result["results"]}
    assert sorted(proposals.values()) == sorted([*PARAPHRASES, DISTINCT])
    paraphrasing = sorted(i for i, text in proposals.items() if text in PARAPHRASES)
    distinct = next(i for i, text in proposals.items() if text == DISTINCT)

    # Two ideas; the judge put the distinct one (idea 2 by size) first.
    synthesis = result["synthesis"]
    assert (synthesis["ranked_by"], synthesis["judge_error"]) == ("judge", None)
    groups = synthesis["groups"]
    assert [g["orchs"] for g in groups] == [[distinct], paraphrasing]
    assert [g["rank"] for g in groups] == [1, 2]
    assert groups[0]["representative"] == DISTINCT
    assert groups[1]["representative"] in PARAPHRASES
    assert groups[1]["representative_orch"] in paraphrasing

    # The judge was asked once, about the seed and both ideas, numbered by size.
    requests = chat.requests()
    judged = [request for request in requests if is_judge(request)]
    assert len(judged) == 1 and len(requests) == 5
    asked = judged[0]["messages"][-1]["content"]
    assert SEED in asked
    assert f"1. {groups[1]['representative']}" in asked and f"2. {DISTINCT}" in asked

    # Tokens: what the server reported, per ORCH, for the judge and in total; no price known.
    by_orch = {orch_index(request): request for request in requests if not is_judge(request)}
    for item in result["results"]:
        assert item["usage"] == {
            "prompt_tokens": prompt_words(by_orch[item["index"]]),
            "completion_tokens": count_words(item["proposal"]),
            "cost_usd": None,
        }
    judge_usage = {
        "prompt_tokens": prompt_words(judged[0]),
        "completion_tokens": count_words('Here you go: {"ranking": [2, 1]}'),
        "cost_usd": None,
    }
    assert synthesis["usage"] == judge_usage
    usage = result["usage"]
    assert usage["judge"] == judge_usage
    assert usage["orchs"]["prompt_tokens"] == sum(prompt_words(r) for r in by_orch.values())
    assert usage["prompt_tokens"] == sum(prompt_words(r) for r in requests)
    assert usage["completion_tokens"] == (
        sum(count_words(text) for text in proposals.values()) + judge_usage["completion_tokens"]
    )
    assert usage["cost_usd"] is None

    # Stored with the run, synthesis and tokens included.
    stored = load_run(open_store(), result["run_id"])
    assert stored is not None and stored.model_dump() == result

    # The UI: the table's token columns and totals, and the ranked ideas as markdown.
    made = {artifact.type: artifact for artifact in run_artifacts(result["run_id"])}
    rows = made["table"].data
    rows = json.loads(rows) if isinstance(rows, str) else rows
    assert [row["prompt_tokens"] for row in rows] == [prompt_words(by_orch[i]) for i in range(4)]
    assert f"{usage['prompt_tokens']:,} tokens in" in made["table"].description
    assert "cost unknown" in made["table"].description
    markdown = made["markdown"].data
    assert "ranked by the LLM judge" in markdown
    assert markdown.index(DISTINCT) < markdown.index(groups[1]["representative"])

    # The CLI's human output: the ranked ideas first, with the ORCHs (numbered from 1), and tokens.
    out = io.StringIO()
    show("propose", result, Screen(out=out, err=io.StringIO()))
    lines = out.getvalue().splitlines()
    assert lines[1] == "2 ideas, ranked by the LLM judge:"
    assert lines[3].split()[:2] == ["1", str(distinct + 1)]
    assert lines[-1] == (
        f"Tokens: {usage['prompt_tokens']:,} in, {usage['completion_tokens']:,} out, cost unknown"
        f" (judge: {judge_usage['prompt_tokens']:,} in, {judge_usage['completion_tokens']:,} out,"
        " cost unknown)"
    )


def run_artifacts(run_id: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(run_id)]))
        )


def test_a_failing_judge_leaves_the_raw_list_and_the_size_order(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_ORCH_RETRIES", "1")
    chat.control(replies=[*PARAPHRASES, DISTINCT], fail_when_contains=JUDGE_WORDS, failure_status=500)
    result = propose(4)
    assert result["succeeded"] == 4 and result.get("type") != "error"
    assert sorted(r["proposal"] for r in result["results"]) == sorted([*PARAPHRASES, DISTINCT])
    synthesis = result["synthesis"]
    assert synthesis["ranked_by"] == "size"
    assert synthesis["judge_error"].startswith("The judge's call failed: ")
    assert "scripted failure" in synthesis["judge_error"]
    assert [len(g["orchs"]) for g in synthesis["groups"]] == [3, 1]  # the larger idea first
    # Retried like an ORCH (1 + 1 attempt), and a failed call adds no tokens.
    assert sum(is_judge(request) for request in chat.requests()) == 2
    assert synthesis["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None}
    assert result["usage"]["prompt_tokens"] == result["usage"]["orchs"]["prompt_tokens"] > 0
    out = io.StringIO()
    show("propose", result, Screen(out=out, err=io.StringIO()))
    assert out.getvalue().splitlines()[1].startswith("2 ideas, by size (the judge failed: ")


def test_an_unparsable_judge_answer_is_said_and_still_counted(chat: ChatServer) -> None:
    reply = "Idea two sounds best to me, then idea one."
    script_four_orchs(chat, reply)
    result = propose(4)
    synthesis = result["synthesis"]
    assert synthesis["ranked_by"] == "size"
    assert "no JSON order of ideas 1-2" in synthesis["judge_error"]
    assert [len(g["orchs"]) for g in synthesis["groups"]] == [3, 1]
    assert synthesis["usage"]["completion_tokens"] == count_words(reply)
    assert len(result["results"]) == 4 and all(r["proposal"] for r in result["results"])


def test_a_priced_model_has_a_cost_and_synthesis_can_be_skipped(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import litellm

    monkeypatch.setenv("PHOENIX_LLM_MODEL", "openai/gpt-4o-mini")
    chat.control(replies=[PARAPHRASES[0], DISTINCT])
    result = propose(2, synthesize=False)
    assert result["synthesis"] is None
    assert not any(is_judge(request) for request in chat.requests())
    assert chat.stats()["requests"] == 2
    for item in result["results"]:
        usage = item["usage"]
        prompt, completion = litellm.cost_per_token(
            model="gpt-4o-mini",
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )
        assert usage["cost_usd"] == pytest.approx(prompt + completion) and usage["cost_usd"] > 0
    assert result["usage"]["cost_usd"] == pytest.approx(
        sum(item["usage"]["cost_usd"] for item in result["results"])
    )
    assert {a.type for a in run_artifacts(result["run_id"])} == {"progress", "table"}
    out = io.StringIO()
    show("propose", result, Screen(out=out, err=io.StringIO()))
    assert out.getvalue().splitlines()[-1].endswith(f"${result['usage']['cost_usd']:.6f}")


@pytest.mark.parametrize("kind", ["file", "lake"])
def test_costs_and_synthesis_round_trip_in_both_stores(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    environment = {"PHOENIX_HOME": str(tmp_path / "home")}
    if kind == "lake":
        server = request.getfixturevalue("postgres_server")
        environment |= {
            "PHOENIX_STORE_URL": server.store_url(fresh_database(server)),
            "PHOENIX_STORE_DATA_PATH": str(tmp_path / "lake-data"),
        }
    store = open_store(load_settings(environment))
    results = [
        ProposalResult(index=0, angle="a", proposal="cache it", attempts=1, latency_s=0.5,
                       usage=TokenUsage(prompt_tokens=41, completion_tokens=7, cost_usd=1.0665e-05)),
        ProposalResult(index=1, angle="b", error="boom", attempts=3, latency_s=1.0),
    ]  # fmt: skip
    synthesis = Synthesis(
        groups=[IdeaGroup(rank=1, orchs=[0], representative_orch=0, representative="cache it")],
        ranked_by="size",
        judge_error="The judge's call failed: | <b>",
        usage=TokenUsage(prompt_tokens=30, completion_tokens=4, cost_usd=6.9e-06),
        wall_s=0.25,
    )
    run = ProposeRun(run_id="r1", seed="s", n=2, model="openai/gpt-4o-mini", succeeded=1, failed=1,
                     wall_s=1.5, results=results, usage=run_usage(results, synthesis),
                     synthesis=synthesis)  # fmt: skip
    save_run(store, run)
    assert load_run(store, "r1") == run
    assert run.usage.prompt_tokens == 71 and run.usage.cost_usd == pytest.approx(1.7565e-05)


# --- the pure logic --------------------------------------------------------------------------------


def test_average_linkage_keeps_a_chain_of_neighbours_apart() -> None:
    # a~b and b~c are above the threshold, a~c far below: average linkage does not chain them.
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.28, 0.96]])
    assert cluster(vectors, threshold=0.75) == [[0, 1], [2]]
    assert cluster(vectors, threshold=0.99) == [[0], [1], [2]]
    assert cluster(np.zeros((0, 2))) == []


@pytest.mark.parametrize(
    ("answer", "order"),
    [
        ('{"ranking": [3, 1, 2]}', [2, 0, 1]),
        ('```json\n{"order": ["2"]}\n```', [1, 0, 2]),
        ("Sure. [3, 3, 9, 1] is my ranking.", [2, 0, 1]),
        ('[{"idea": 2}, {"idea": 1}, {"idea": 3}]', [1, 0, 2]),
        ('Idea [3] is risky, [2] is safe. {"ranking": [1, 2, 3]}', [0, 1, 2]),
        ("Idea [3] is risky. My order: [2, 1, 3]", [1, 0, 2]),
        ('{"ranking": [2, 3, 1]} Idea [3, 1] deserve a note.', [1, 2, 0]),
    ],
)
def test_the_judge_answer_is_read_leniently(answer: str, order: list[int]) -> None:
    assert parse_ranking(answer, 3) == order


@pytest.mark.parametrize("answer", ["Idea 2 is best.", '{"best": "two"}', "[0, 4]", "{broken"])
def test_an_answer_without_an_order_is_unparsable(answer: str) -> None:
    with pytest.raises(JudgeUnparsable):
        parse_ranking(answer, 3)


def test_groups_past_the_judged_ones_follow_in_size_order() -> None:
    groups = [
        IdeaGroup(rank=i + 1, orchs=[i], representative_orch=i, representative=f"idea {i}")
        for i in range(MAX_JUDGED_GROUPS + 2)
    ]
    ranked = apply_ranking(groups, list(reversed(range(MAX_JUDGED_GROUPS))))
    assert [g.orchs[0] for g in ranked][:2] == [MAX_JUDGED_GROUPS - 1, MAX_JUDGED_GROUPS - 2]
    assert [g.orchs[0] for g in ranked][-2:] == [MAX_JUDGED_GROUPS, MAX_JUDGED_GROUPS + 1]
    assert [g.rank for g in ranked] == list(range(1, MAX_JUDGED_GROUPS + 3))
