"""The LLM writes an agent's code, and repairs it from cargo's errors (scripted chat server)."""

from __future__ import annotations

from prefect import flow

from blocks.llm import resolve_settings
from tasks.spawn import write_agent_code
from tests.conftest import ChatServer

GOOD = 'pub async fn run() {\n    println!("hello");\n}\n'


@flow
def write(name: str, description: str, failed: str | None = None, errors: str | None = None) -> str:
    return write_agent_code(name, description, resolve_settings(), failed, errors)


def test_the_first_request_asks_for_the_module_and_a_repair_sends_code_and_errors(
    chat: ChatServer,
) -> None:
    chat.control(replies=[GOOD, GOOD])
    assert write("weather-bot", "says the weather") == GOOD.strip()
    first = chat.requests()[-1]["messages"]
    assert "pub async fn run()" in first[0]["content"]
    assert "weather-bot" in first[1]["content"] and "says the weather" in first[1]["content"]

    errors = "error[E0425]: cannot find value `x` in this scope\n --> src/generated.rs:2:5"
    write("weather-bot", "says the weather", "pub async fn run() { x }", errors)
    repair = chat.requests()[-1]["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert repair[2]["content"] == "pub async fn run() { x }"
    assert "E0425" in repair[3]["content"] and "whole corrected module" in repair[3]["content"]


def test_a_failing_model_is_retried_then_answers(chat: ChatServer) -> None:
    chat.control(fail_first=1, failure_status=503, replies=[GOOD])
    assert write("a", "b") == GOOD.strip()
    assert chat.stats()["requests"] == 2
