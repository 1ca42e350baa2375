"""A propose in which every ORCH fails: a failed operation whose record is kept and returned.

Through the CLI as a user runs it, on the local service and in-process, against the scripted chat
server failing every call; and through the service's HTTP API, which answers 502.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from phoenix import daemon
from phoenix.api_token import resolve_api_token
from phoenix.settings import load_settings
from phoenix.store import Store
from phoenix.store.proposals import load_run
from tests.conftest import PHOENIX, ChatServer, cli_environment

N = 3


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[dict[str, str]]:
    """One PHOENIX_HOME for the module, so the service-mode commands share one local service."""
    with cli_environment(
        tmp_path_factory,
        chat_server_url,
        "failures",
        PHOENIX_ORCH_RETRIES="1",
        PHOENIX_ORCH_RETRY_DELAY="0.01",
    ) as env:
        yield env


@pytest.fixture
def failing(chat_server_url: str) -> ChatServer:
    """The chat server, answering every call with a 500."""
    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(failure_rate=1.0, failure_status=500)
    return chat


def phoenix(env: dict[str, str], *arguments: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [PHOENIX, "--json", *arguments], env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def _stored_run(env: dict[str, str], run_id: str) -> Any:
    return load_run(Store(load_settings({"PHOENIX_HOME": env["PHOENIX_HOME"]}).database_path), run_id)


def _run_logs(run_id: str) -> list[str]:
    async def read() -> Any:
        async with get_client() as client:
            return await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )

    return [log.message for log in asyncio.run(read())]


def _assert_failed_run(code: int, reply: dict[str, Any], env: dict[str, str]) -> None:
    assert code == 1, reply
    assert (reply["type"], reply["code"]) == ("error", "llm_failed")
    assert reply["message"].startswith(f"No ORCH proposed anything: all {N} failed")
    assert (reply["n"], reply["succeeded"], reply["failed"]) == (N, 0, N)
    assert [item["index"] for item in reply["results"]] == list(range(N))
    assert all(item["proposal"] is None and item["error"] for item in reply["results"])
    assert "sk-failures-secret" not in json.dumps(reply)
    stored = _stored_run(env, reply["run_id"])
    assert stored is not None and (stored.succeeded, stored.failed) == (0, N)


@pytest.mark.parametrize("mode", ["service", "in-process"])
def test_a_propose_with_no_proposal_exits_1_with_its_record(
    cli_env: dict[str, str], failing: ChatServer, mode: str
) -> None:
    env = cli_env | ({"PHOENIX_CLI_IN_PROCESS": "1"} if mode == "in-process" else {})
    code, reply, _ = phoenix(env, "propose", f"nothing works ({mode})", "-n", str(N))
    _assert_failed_run(code, reply, env)
    assert failing.stats()["requests"] == N * 2  # one try and one retry each: it did run


def test_in_process_runs_print_one_line_per_failed_orch(
    cli_env: dict[str, str], failing: ChatServer
) -> None:
    env = cli_env | {"PHOENIX_CLI_IN_PROCESS": "1"}
    code, reply, stderr = phoenix(env, "propose", "nothing works, quietly", "-n", str(N))
    _assert_failed_run(code, reply, env)
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "Task run 'orch-" in line]
    assert sorted(line.split("Task run '")[1][:6] for line in lines) == [
        f"orch-{index}" for index in range(N)
    ], stderr
    assert all("OrchFailed" in line for line in lines)
    # The console is quieter; the run's logs in the Prefect UI keep the tracebacks.
    logs = _run_logs(reply["run_id"])
    assert sum("Traceback" in message and "OrchFailed" in message for message in logs) == N


def test_the_router_reports_it_as_an_error_too(cli_env: dict[str, str], failing: ChatServer) -> None:
    code, reply, _ = phoenix(cli_env, "command", "propose", "2", "improvements", "for", "nothing")
    assert code == 1, reply
    assert (reply["type"], reply["code"]) == ("error", "llm_failed")
    assert (reply["succeeded"], reply["failed"]) == (0, 2)


def test_the_service_api_answers_502_with_the_record(
    cli_env: dict[str, str], failing: ChatServer
) -> None:
    phoenix(cli_env, "command", "help")  # the service is running, with this environment
    settings = load_settings({"PHOENIX_HOME": cli_env["PHOENIX_HOME"]})
    record = daemon.service(settings).running()
    assert record is not None
    token, _ = resolve_api_token(settings)
    reply = httpx.post(
        f"{record.url}/api/flows/propose-improvements/run",
        json={"seed": "nothing works over HTTP", "n": N},
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    assert reply.status_code == 502
    _assert_failed_run(1, reply.json(), cli_env)
