"""Ctrl-C on `phoenix propose` cancels its flow run: Prefect shows it Cancelled, the LLM calls stop.

The command runs as a user runs it, in a process of its own, on the local service and in-process,
against the scripted chat server answering slowly and at most two calls at a time, so that most
ORCHs are still waiting when the command is interrupted.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun, StateType

from tests.conftest import PHOENIX, ChatServer, cli_environment, wait_for, with_default_sigint

N = 8
CONCURRENCY = 2
LATENCY_S = 60.0  # each call; the uninterrupted run would take 4 × this
PROMPT_EXIT_S = 30.0


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[dict[str, str]]:
    with cli_environment(
        tmp_path_factory,
        chat_server_url,
        "cancel",
        PHOENIX_LLM_CONCURRENCY=str(CONCURRENCY),
        PHOENIX_LLM_TIMEOUT=str(int(LATENCY_S * 2)),
    ) as env:
        yield env


def _flow_run(flow_name: str, parameter: str, value: str) -> FlowRun | None:
    """The run of `flow_name` whose `parameter` is `value`, once Prefect knows it."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])), limit=50
        )
    return next((run for run in runs if run.parameters.get(parameter) == value), None)


def _state(run_id: Any) -> StateType | None:
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    return run.state_type


def _orch_states(run_id: Any) -> list[StateType | None]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    return [run.state_type for run in runs if run.name.startswith("orch-")]


@pytest.mark.parametrize("mode", ["service", "in-process", "router"])
def test_ctrl_c_cancels_the_flow_run_and_its_llm_calls(
    cli_env: dict[str, str], chat_server_url: str, mode: str
) -> None:
    """`router` is `phoenix command "propose N improvements for …"` on the service: the router's
    run ends Cancelled with its propose subflow, not Failed."""
    env = cli_env | ({"PHOENIX_CLI_IN_PROCESS": "1"} if mode == "in-process" else {})
    if mode != "in-process":  # started beforehand: its start-up is not what is measured
        started = subprocess.run([PHOENIX, "--json", "command", "help"], env=env, timeout=300)
        assert started.returncode == 0
    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(latency_s=LATENCY_S)
    seed = f"a slow project ({mode})"
    text = f"propose {N} improvements for {seed}"
    arguments = ["command", text] if mode == "router" else ["propose", seed, "-n", str(N)]
    command = subprocess.Popen(
        [PHOENIX, "--json", *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=with_default_sigint,
    )
    try:
        run = wait_for(lambda: _flow_run("propose-improvements", "seed", seed), timeout_s=120)
        wait_for(lambda: _state(run.id) == StateType.RUNNING, timeout_s=60)
        wait_for(lambda: chat.stats()["requests"] == CONCURRENCY, timeout_s=60)

        interrupted = time.monotonic()
        command.send_signal(signal.SIGINT)
        stdout, stderr = command.communicate(timeout=120)
        took = time.monotonic() - interrupted
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 130, stderr
    assert took < PROMPT_EXIT_S, f"the command took {took:.1f} s to end"
    assert json.loads(stdout)["code"] == "cancelled"

    wait_for(lambda: _state(run.id) == StateType.CANCELLED, timeout_s=30)
    # Every ORCH is over — the two in flight were cancelled, the six waiting never asked — and
    # the chat server got no call after the interruption.
    wait_for(lambda: _orch_states(run.id) == [StateType.CANCELLED] * N, timeout_s=30)
    assert chat.stats()["requests"] == CONCURRENCY
    if mode == "router":
        router_run = _flow_run("router", "command", text)
        assert router_run is not None
        wait_for(lambda: _state(router_run.id) == StateType.CANCELLED, timeout_s=30)
