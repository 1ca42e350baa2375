"""propose-improvements against the scripted chat server, through litellm's HTTP path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from flows import run_flow
from phoenix.errors import UsageError
from phoenix.store import open_store
from phoenix.store.proposals import load_run
from tests.conftest import ChatServer


def propose_improvements(seed: str, n: int) -> dict[str, Any]:
    """The queen flow, run as the CLI and the API run it."""
    return run_flow("propose-improvements", {"seed": seed, "n": n})


def _orch_prompt_attempts(chat: ChatServer) -> dict[int, int]:
    """Requests the server saw per ORCH index (each ORCH's prompt names it)."""
    attempts: dict[int, int] = {}
    for prompt, count in chat.stats()["attempts_by_prompt"].items():
        index = int(prompt.rsplit("(ORCH-", 1)[1].rstrip(").") if "(ORCH-" in prompt else -1)
        attempts[index] = attempts.get(index, 0) + count
    return attempts


def _sent_user_prompts(chat: ChatServer) -> dict[int, str]:
    """The user prompt each ORCH sent, by the index its system message gives it."""
    prompts: dict[int, str] = {}
    for request in chat.requests():
        system = next(m["content"] for m in request["messages"] if m["role"] == "system")
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        index = int(system.removeprefix("You are ORCH-").split(",", 1)[0])
        prompts[index] = user
    return prompts


def test_every_orch_proposes_from_its_own_angle(chat: ChatServer) -> None:
    result = propose_improvements(seed="a todo app", n=6)
    assert result["n"] == 6 and result["succeeded"] == 6 and result["failed"] == 0
    assert [r["index"] for r in result["results"]] == list(range(6))
    assert all(r["error"] is None and r["attempts"] == 1 for r in result["results"])
    assert chat.stats()["requests"] == 6
    # What each ORCH asked, as the server received it: its own angle, named in its prompt.
    expected = ["performance", "reliability", "security", "developer experience",
                "observability", "testing"]  # fmt: skip
    prompts = _sent_user_prompts(chat)
    assert sorted(prompts) == list(range(6))
    for index, angle in enumerate(expected):
        assert f"From the angle of {angle}," in prompts[index], prompts[index]
        assert "a todo app" in prompts[index]
    assert [r["angle"] for r in result["results"]] == expected


def test_retryable_failures_are_retried_until_they_succeed(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_ORCH_RETRIES", "2")
    chat.control(fail_first=2, failure_status=503)
    result = propose_improvements(seed="retry me", n=4)
    assert result["succeeded"] == 4
    assert [r["attempts"] for r in result["results"]] == [3, 3, 3, 3]
    assert _orch_prompt_attempts(chat) == {0: 3, 1: 3, 2: 3, 3: 3}


def test_retries_are_bounded_and_a_failing_orch_is_reported_not_raised(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_ORCH_RETRIES", "2")
    chat.control(fail_when_contains="(ORCH-1)", failure_status=429)
    result = propose_improvements(seed="partial", n=3)
    assert (result["succeeded"], result["failed"]) == (2, 1)
    failed = result["results"][1]
    assert failed["proposal"] is None and failed["attempts"] == 3
    assert "RateLimit" in failed["error"]
    assert result["results"][0]["proposal"] and result["results"][2]["proposal"]
    assert _orch_prompt_attempts(chat)[1] == 3  # 1 try + 2 retries, no more


def test_final_errors_are_not_retried_and_secrets_stay_out(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_ORCH_RETRIES", "2")
    # The server refuses the key and quotes it back, as some providers do.
    chat.control(require_api_key="another-key", echo_api_key=True)
    result = propose_improvements(seed="auth", n=2)
    assert result["failed"] == 2
    for item in result["results"]:
        assert item["attempts"] == 1
        assert "authentication failed: set PHOENIX_LLM_API_KEY" in item["error"]
        assert "sk-test-secret" not in item["error"]
        assert "***" in item["error"], "the echoed key must show up redacted"
    assert "sk-test-secret" not in str(result)
    assert chat.stats()["requests"] == 2


def test_injected_random_failures_give_partial_results_in_index_order(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_ORCH_RETRIES", "0")
    chat.control(failure_rate=0.5, seed=7)
    result = propose_improvements(seed="flaky", n=20)
    assert 0 < result["succeeded"] < 20
    assert result["succeeded"] + result["failed"] == 20
    assert [r["index"] for r in result["results"]] == list(range(20))
    for item in result["results"]:
        assert (item["proposal"] is None) != (item["error"] is None)


def test_a_call_that_never_answers_times_out(chat: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_LLM_TIMEOUT", "1")
    monkeypatch.setenv("PHOENIX_ORCH_RETRIES", "1")
    chat.control(hang_when_contains="(ORCH-0)")
    result = propose_improvements(seed="slow", n=2)
    hung = result["results"][0]
    assert hung["proposal"] is None and "Timeout" in hung["error"]
    assert hung["attempts"] == 2
    assert 2.0 <= hung["latency_s"] < 8.0
    assert result["results"][1]["proposal"] is not None


def test_the_concurrency_cap_holds(chat: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_LLM_CONCURRENCY", "4")
    chat.control(latency_s=0.2)
    result = propose_improvements(seed="capped", n=16)
    assert result["succeeded"] == 16
    assert chat.stats()["max_in_flight"] == 4


def test_the_run_is_stored_and_published_as_a_table(chat: ChatServer) -> None:
    result = propose_improvements(seed="stored", n=3)
    stored = load_run(open_store(), result["run_id"])
    assert stored is not None
    assert stored.model_dump() == result

    async def artifact_rows() -> Any:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[result["run_id"]])
                )
            )

    artifacts = {a.type: a for a in asyncio.run(artifact_rows())}
    assert sorted(artifacts) == ["markdown", "progress", "table"]  # markdown: the ranked ideas
    assert "stored" in artifacts["table"].data


@pytest.mark.parametrize("n", [0, -1, 513])
def test_n_out_of_range_is_a_usage_error(chat: ChatServer, n: int) -> None:
    with pytest.raises(UsageError, match="between 1 and 512"):
        propose_improvements(seed="x", n=n)
    assert chat.stats()["requests"] == 0


def test_a_blank_seed_is_a_usage_error(chat: ChatServer) -> None:
    with pytest.raises(UsageError, match="seed"):
        propose_improvements(seed="  ", n=2)


def test_the_dask_task_runner_is_selectable(chat: ChatServer, tmp_path: Path) -> None:
    import dask

    # The local cluster's workers keep their spill files here, not in a shared /tmp folder.
    with dask.config.set({"temporary-directory": str(tmp_path)}):
        result = run_flow("propose-improvements", {"seed": "scale out", "n": 3, "task_runner": "dask"})
    assert result["succeeded"] == 3
    assert [r["index"] for r in result["results"]] == [0, 1, 2]
    assert chat.stats()["requests"] == 3


def test_an_unknown_task_runner_is_a_usage_error(chat: ChatServer) -> None:
    with pytest.raises(UsageError, match="threads or dask"):
        run_flow("propose-improvements", {"seed": "x", "n": 1, "task_runner": "spark"})
