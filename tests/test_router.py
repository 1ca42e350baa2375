"""The router flow: every route of the grammar, run as subflows, answering in envelopes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flows import run_flow
from phoenix.commands import ECOSYSTEM_USAGE, HELP_TEXT, capabilities
from phoenix.errors import UsageError
from tests.conftest import ChatServer, make_git_repo, require_tool


def router(command: str) -> dict:
    """The router flow, run as the CLI and the API run it."""
    return run_flow("router", {"command": command})


def test_help(phoenix_home) -> None:
    assert router(command="help") == {"type": "help", "message": HELP_TEXT}


def test_status_counts_what_phoenix_holds(chat: ChatServer) -> None:
    router(command="memory store a 1")
    router(command="propose 2 improvements for status")
    router(command="hello")  # a conversation turn is an episode, not a key-value memory
    status = router(command="STATUS")
    assert status["type"] == "status"
    assert status["memory_items"] == 1 and status["episodes"] == 1
    assert status["propose_runs"] == 1
    assert status["model"] == "openai/scripted"
    assert status["pid"] == os.getpid()  # run here, in-process
    assert "sk-test-secret" not in json.dumps(status)


def test_status_lists_the_routers_capabilities(phoenix_home) -> None:
    status = router(command="status")
    assert status["capabilities"] == capabilities()
    assert status["capabilities"]["propose"] is True and status["capabilities"]["spawn"] is True


def test_status_reads_the_settings_the_flows_read(phoenix_home, monkeypatch: pytest.MonkeyPatch) -> None:
    """A saved `phoenix-llm` block counts, as it does for propose and speak."""
    from blocks.llm import DEFAULT_BLOCK_NAME, LLMSettings

    monkeypatch.delenv("PHOENIX_LLM_MODEL", raising=False)
    LLMSettings(model="openai/from-the-block", concurrency=3).save(DEFAULT_BLOCK_NAME, overwrite=True)
    try:
        status = router(command="status")
    finally:
        LLMSettings.delete(DEFAULT_BLOCK_NAME)
    assert (status["model"], status["llm_concurrency"]) == ("openai/from-the-block", 3)


def test_propose_route_runs_the_queen_as_a_subflow(chat: ChatServer) -> None:
    reply = router(command="Propose 3 improvements for The Hive")
    assert reply["type"] == "propose"
    assert reply["seed"] == "The Hive" and reply["n"] == 3 and reply["succeeded"] == 3
    assert reply["message"].startswith("3 of 3 proposals for 'The Hive'")


def test_memory_routes_round_trip(phoenix_home) -> None:
    stored = router(command="memory store Colour deep Blue")
    assert stored["type"] == "memory" and stored["key"] == "Colour"
    assert stored["value"] == "deep Blue"
    assert router(command="memory get Colour")["value"] == "deep Blue"
    found = router(command="memory search blue --limit 5")
    assert found["count"] == 1 and found["items"] == [{"key": "Colour", "value": "deep Blue"}]
    assert router(command="memory delete Colour")["key"] == "Colour"
    missing = router(command="memory get Colour")
    assert missing["type"] == "error" and missing["code"] == "not_found"


@pytest.mark.parametrize(
    ("command", "code", "text"),
    [
        ("ecosystem abc", "usage_error", ECOSYSTEM_USAGE),
        ("ecosystem abc build", "not_found", "No imported repository"),
        ("spawn agent ***: y", "bad_input", "cannot name an agent"),
        ("system restart", "usage_error", "Usage: system status | system exec"),
        ("memory vector-all --limit many", "usage_error", "Usage: memory vector-all"),
        ("memory vector-all --limit 5000", "bad_input", "between 1 and 1000"),
        ("memory frobnicate", "usage_error", "Usage: memory"),
        ("propose lots improvements for x", "usage_error", "propose"),
        ("propose 999 improvements for x", "usage_error", "between 1 and 512"),
        ("", "usage_error", "Empty command"),
        ("memory search q --limit 500", "bad_input", "between 1 and 100"),
    ],
)
def test_usage_errors_and_unavailable_capabilities(
    phoenix_home, command: str, code: str, text: str
) -> None:
    reply = router(command=command)
    assert reply["type"] == "error" and reply["code"] == code
    assert text in reply["message"]


def test_anything_else_is_spoken_and_every_exchange_is_kept(chat: ChatServer) -> None:
    chat.control(replies=["first answer", "second answer"])
    first = router(command="Hello Phoenix")
    assert first["type"] == "speak" and first["message"] == "first answer"
    assert first["episode_key"].startswith("episode/")
    assert router(command="Hello Phoenix")["message"] == "second answer"
    episodes = router(command="memory search episode/")
    assert episodes["count"] == 2
    # A search of key-value memories does not wade through conversation turns.
    assert router(command="memory search Hello")["count"] == 0
    router(command="memory store greeting Hello there")
    assert [item["key"] for item in router(command="memory search hello")["items"]] == ["greeting"]
    values = [json.loads(item["value"]) for item in episodes["items"]]
    assert {v["user"] for v in values} == {"Hello Phoenix"}
    assert {v["assistant"] for v in values} == {"first answer", "second answer"}


def test_an_llm_failure_is_an_error_envelope(chat: ChatServer) -> None:
    chat.control(require_api_key="nope")
    reply = router(command="Hello?")
    assert reply["type"] == "error" and reply["code"] == "llm_failed"
    assert "sk-test-secret" not in reply["message"]


def test_a_repository_command_that_fails_is_a_failed_envelope(phoenix_home, tmp_path: Path) -> None:
    """Through the router as through `phoenix ecosystem run`: exit code and output kept, code set."""
    require_tool("git", "make")
    repo = make_git_repo(
        tmp_path / "failing",
        {"Makefile": "ok:\n\t@echo fine\nbad:\n\t@echo out; echo oops >&2; exit 3\n"},
    )
    record = run_flow("import-and-build-repo", {"source": str(repo), "build": False})
    good = router(command=f"ecosystem {record['id']} ok")
    assert good["type"] == "ecosystem" and good["exit_code"] == 0 and "fine" in good["stdout"]
    bad = router(command=f"ecosystem {record['id']} bad")
    assert bad["type"] == "error" and bad["code"] == "command_failed"
    assert bad["exit_code"] != 0 and "oops" in bad["stderr"] and "out" in bad["stdout"]


def test_a_repository_variable_typed_to_the_router_never_reaches_prefect(phoenix_home) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    secret = "router-secret-value-7d1e"
    router(command="help")  # at least one router run for the query below to find
    with pytest.raises(UsageError, match="phoenix ecosystem env"):
        run_flow("router", {"command": f"ecosystem 0123456789 env TOKEN={secret}"})
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["router"])), limit=200
        )
    assert runs, "the session's router runs should be visible"
    assert not [run.id for run in runs if secret in str(run.parameters)]
