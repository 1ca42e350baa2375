"""`phoenix serve`: every flow served as `<flow>/phoenix`, runs created through Prefect's REST API
and by schedules execute, and Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.deployments import SERVED_FLOWS
from phoenix.schedules import HEALTH_DEPLOYMENT, PROPOSE_DEPLOYMENT
from tests.conftest import PHOENIX, cli_environment, wait_for, with_default_sigint

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class BusyRetryingTransport(httpx.HTTPTransport):
    """Retries a 503 or 429 with backoff, for up to 30 s, as Prefect's own client does.

    Prefect's SQLite-backed server answers 503 ("database is locked") while another writer holds
    the database; on a loaded machine that lasts seconds (seen in CI), and a plain client that
    gives up at once would fail the test for the server's busyness, not for Phoenix.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + 30
        delay = 0.2
        while True:
            response = super().handle_request(request)
            if response.status_code not in (429, 503) or time.monotonic() > deadline:
                return response
            response.close()
            time.sleep(delay)  # backoff against a busy server, not synchronisation
            delay = min(delay * 2, 3.0)


class Served:
    """A `phoenix serve` process and the Prefect API it serves on."""

    def __init__(self, process: subprocess.Popen[bytes], env: dict[str, str], log: Path) -> None:
        self.process, self.env, self.log = process, env, log
        self.api = httpx.Client(
            base_url=env["PREFECT_API_URL"], timeout=30, transport=BusyRetryingTransport()
        )

    def deployment(self, flow: str, name: str = "phoenix") -> dict[str, Any]:
        reply = self.api.get(f"/deployments/name/{flow}/{name}")
        reply.raise_for_status()
        return reply.json()

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return self.api.get(f"/flow_runs/{run_id}").raise_for_status().json()

    def finished(self, run_id: str, timeout_s: float = 90) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            run = self.flow_run(run_id)
            return run if run["state_type"] in FINAL else None

        try:
            return wait_for(final, timeout_s=timeout_s, interval_s=0.3)
        except AssertionError:
            raise AssertionError(
                f"run {run_id} unfinished; serve said:\n{self.log.read_text()}"
            ) from None


def _polled(served: Served) -> bool:
    try:
        return all(served.deployment(flow)["status"] == "READY" for flow in SERVED_FLOWS)
    except httpx.HTTPStatusError:
        return False  # not registered yet


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[Served]:
    schedules = {
        "PHOENIX_HEALTH_EVERY": "10",
        "PHOENIX_PROPOSE_CRON": "0 6 * * 1",
        "PHOENIX_PROPOSE_SEED": "the docs",
        "PHOENIX_PROPOSE_N": "3",
    }
    with cli_environment(tmp_path_factory, chat_server_url, "serve", **schedules) as env:
        log = tmp_path_factory.mktemp("serve") / "serve.log"
        elsewhere = tmp_path_factory.mktemp("elsewhere")  # not the project's folder
        with log.open("wb") as output:
            process = subprocess.Popen(
                [PHOENIX, "serve", "--poll", "1"], env=env, cwd=elsewhere,
                stdout=output, stderr=subprocess.STDOUT, preexec_fn=with_default_sigint,
            )  # fmt: skip
        server = Served(process, env, log)
        try:
            wait_for(
                lambda: _polled(server) or process.poll() is not None, timeout_s=120, interval_s=0.5
            )
            assert process.poll() is None, log.read_text()
            yield server
        finally:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError(f"phoenix serve ignored Ctrl-C:\n{log.read_text()}") from None
            server.api.close()
    assert code == 0, log.read_text()


def test_every_flow_is_served_with_a_form_the_ui_can_render(served: Served) -> None:
    for flow in SERVED_FLOWS:
        deployment = served.deployment(flow)
        assert deployment["entrypoint"].startswith("flows."), deployment["entrypoint"]
        schema = deployment["parameter_openapi_schema"]
        assert schema["properties"], flow
        for name, parameter in schema["properties"].items():
            assert parameter.get("description"), f"{flow}: parameter {name} has no description"
            assert parameter.get("type") or parameter.get("anyOf") or parameter.get("allOf"), name
    memory = served.deployment("memory")["parameter_openapi_schema"]
    assert memory["required"] == ["action"]
    assert memory["properties"]["action"]["enum"] == [
        "store", "get", "search", "delete", "vector-store", "vector-search", "vector-all",
    ]  # fmt: skip


def test_a_run_created_through_prefects_rest_api_executes_and_keeps_its_result(served: Served) -> None:
    deployment = served.deployment("router")
    created = served.api.post(
        f"/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": {"command": "memory store colour teal"}},
    ).raise_for_status().json()  # fmt: skip
    run = served.finished(created["id"])
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"] == "router: memory store colour teal"

    # It ran with the server's PHOENIX_HOME: the CLI of that home recalls the value.
    recalled = subprocess.run(
        [PHOENIX, "--json", "memory", "get", "colour"], env=served.env, capture_output=True, text=True
    )
    assert json.loads(recalled.stdout) == {"key": "colour", "value": "teal"}, recalled.stderr

    # Its result was kept, so another process can read it (what GET /api/runs/{id} relies on).
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings({PREFECT_API_URL: served.env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        state = client.read_flow_run(created["id"]).state
        assert state is not None
        result = state.result()
    assert result["type"] == "memory" and result["value"] == "teal"


def test_a_scheduled_health_check_runs_on_its_own(served: Served) -> None:
    deployment = served.deployment("service-health", HEALTH_DEPLOYMENT)
    assert [s["schedule"]["interval"] for s in deployment["schedules"]] == [10.0]
    assert all(s["active"] for s in deployment["schedules"])

    def completed_run() -> dict[str, Any] | None:
        runs = served.api.post(
            "/flow_runs/filter",
            json={"deployments": {"id": {"any_": [deployment["id"]]}},
                  "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}},
        ).raise_for_status().json()  # fmt: skip
        return runs[0] if runs else None

    run = wait_for(completed_run, timeout_s=90, interval_s=1)
    assert run["state_type"] == "COMPLETED", (run["state"], served.log.read_text()[-3000:])
    assert run["auto_scheduled"] is True


def test_serve_refuses_a_bad_schedule_before_starting(tmp_path: Path) -> None:
    env = dict(os.environ) | {"PHOENIX_HOME": str(tmp_path), "PHOENIX_PROPOSE_CRON": "0 6 * * 1"}
    result = subprocess.run([PHOENIX, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "PHOENIX_PROPOSE_CRON needs PHOENIX_PROPOSE_SEED" in result.stderr
    result = subprocess.run(
        [PHOENIX, "--json", "serve", "--limit", "0"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2 and json.loads(result.stdout)["code"] == "usage_error"


def test_a_scheduled_propose_is_its_own_deployment_with_the_configured_seed(served: Served) -> None:
    deployment = served.deployment("propose-improvements", PROPOSE_DEPLOYMENT)
    schedule = deployment["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 6 * * 1", "UTC")
    assert deployment["parameters"] == {"seed": "the docs", "n": 3}
    assert deployment["status"] == "READY"
