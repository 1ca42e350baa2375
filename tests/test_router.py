"""The router flow: every route of the grammar, run as subflows, answering in envelopes."""

from __future__ import annotations

import json

import pytest

from flows import run_flow
from phoenix.commands import ECOSYSTEM_USAGE, HELP_TEXT
from tests.conftest import ChatServer


def router(command: str) -> dict:
    """The router flow, run as the CLI and the API run it."""
    return run_flow("router", {"command": command})


def test_help(phoenix_home) -> None:
    assert router(command="help") == {"type": "help", "message": HELP_TEXT}


def test_status_counts_what_phoenix_holds(chat: ChatServer) -> None:
    router(command="memory store a 1")
    router(command="propose 2 improvements for status")
    status = router(command="STATUS")
    assert status["type"] == "status"
    assert status["memory_items"] == 1 and status["propose_runs"] == 1
    assert status["model"] == "openai/scripted"
    assert "sk-test-secret" not in json.dumps(status)


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
        ("spawn agent x: y", "not_available", "spawn-agent"),
        ("system restart", "not_available", "System"),
        ("memory vector-store hello", "not_available", "Vector"),
        ("memory vector-search hello", "not_available", "Vector"),
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
    values = [json.loads(item["value"]) for item in episodes["items"]]
    assert {v["user"] for v in values} == {"Hello Phoenix"}
    assert {v["assistant"] for v in values} == {"first answer", "second answer"}


def test_an_llm_failure_is_an_error_envelope(chat: ChatServer) -> None:
    chat.control(require_api_key="nope")
    reply = router(command="Hello?")
    assert reply["type"] == "error" and reply["code"] == "llm_failed"
    assert "sk-test-secret" not in reply["message"]
