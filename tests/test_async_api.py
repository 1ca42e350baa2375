"""Asynchronous runs over HTTP: 202 at once, then `GET /api/runs/{id}` to the result.

Real processes only: the session's Prefect server, `phoenix serve` serving the deployments (with
the scripted chat server as its model), and `phoenix api` sharing its PHOENIX_HOME, so a run the
API submits is executed by the runner and its persisted result read back by the API.  One test
starts an API on a Prefect server of its own, which nothing serves.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    PHOENIX,
    ChatServer,
    cli_environment,
    make_git_repo,
    require_tool,
    wait_for,
)
from tests.test_api import TOKEN, start_api, stop_api

DEPLOYMENTS = (
    "propose-improvements/phoenix",
    "ecosystem-command/phoenix",
    "import-and-build-repo/phoenix",
)
RUN_TIMEOUT_S = 180


def deployments_ready(names: tuple[str, ...] = DEPLOYMENTS) -> bool:
    """Whether a runner polls every deployment in `names` (Prefect's status READY)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import DeploymentStatus
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return all(
                client.read_deployment_by_name(name).status == DeploymentStatus.READY for name in names
            )
        except ObjectNotFound:
            return False


def start_serve(env: dict[str, str]) -> subprocess.Popen:
    """`phoenix serve` in a subprocess, once every deployment the tests use is READY."""
    log = (Path(env["PHOENIX_HOME"]).parent / f"serve-{uuid.uuid4().hex[:6]}.log").open("w")
    process = subprocess.Popen(
        [PHOENIX, "serve", "--poll", "1"],
        env=env | {"PREFECT_RUNNER_POLL_FREQUENCY": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def ready() -> bool:
        assert process.poll() is None, f"phoenix serve exited; see {log.name}"
        return deployments_ready()

    wait_for(ready, timeout_s=120, interval_s=0.5)
    return process


def stop_serve(process: subprocess.Popen) -> None:
    """Ctrl-C, as a person stops it (the runner stops before the session's Prefect server)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def serving(
    tmp_path_factory: pytest.TempPathFactory, chat_server_url: str, name: str
) -> Iterator[dict[str, str]]:
    """A module's environment (no retries, short LLM timeout) with `phoenix serve` running on it."""
    with cli_environment(
        tmp_path_factory, chat_server_url, name, PHOENIX_ORCH_RETRIES="0", PHOENIX_LLM_TIMEOUT="10"
    ) as env:
        process = start_serve(env)
        try:
            yield env
        finally:
            stop_serve(process)


@pytest.fixture(scope="module")
def served_env(
    tmp_path_factory: pytest.TempPathFactory, chat_server_url: str
) -> Iterator[dict[str, str]]:
    """The module's environment, with `phoenix serve` running on it until the module ends."""
    with serving(tmp_path_factory, chat_server_url, "async") as env:
        yield env


@pytest.fixture(scope="module")
def api(served_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """`phoenix api` on the served PHOENIX_HOME."""
    process, base = start_api(
        Path(served_env["PHOENIX_HOME"]), tmp_path_factory.mktemp("async-cwd"), served_env
    )
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
    ) as client:
        yield client
    stop_api(process)


def follow(api: httpx.Client, status_url: str) -> dict[str, Any]:
    """The run's document once it finished, read through `status_url` only."""

    def finished() -> dict[str, Any] | None:
        reply = api.get(status_url)
        assert reply.status_code == 200, reply.text
        document = reply.json()
        return document if document["finished"] else None

    return wait_for(finished, timeout_s=RUN_TIMEOUT_S, interval_s=0.25)


def assert_accepted(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert set(body) == {"run_id", "status_url", "ui_url"}
    assert reply.headers["Location"] == f"/api/runs/{body['run_id']}"
    assert reply.headers["Preference-Applied"] == "respond-async"
    assert body["status_url"].endswith(reply.headers["Location"])
    assert f"/runs/flow-run/{body['run_id']}" in body["ui_url"]
    return body


def flow_run_count(api_url: str, deployed_only: bool = True) -> int:
    """How many flow runs a Prefect server holds (its REST API): by default those created from a
    deployment, which is what an asynchronous call submits (a check such as the repository's
    record runs a flow of its own, in the API's process)."""
    where = {"flow_runs": {"deployment_id": {"is_null_": False}}} if deployed_only else {}
    reply = httpx.post(f"{api_url}/flow_runs/count", json=where, timeout=30)
    reply.raise_for_status()
    return int(reply.json())


def test_an_async_propose_is_followed_to_the_result_the_sync_call_gives(
    api: httpx.Client, chat_server_url: str
) -> None:
    ChatServer(chat_server_url).reset()
    body = {"seed": "a chess clock", "n": 3}
    reply = api.post(
        "/api/flows/propose-improvements/run", json=body, headers={"Prefer": "respond-async"}
    )
    accepted = assert_accepted(reply)
    document = follow(api, accepted["status_url"])
    assert document["state_type"] == "COMPLETED", document
    assert document["flow"] == "propose-improvements" and "error" not in document
    result = document["result"]
    assert result["run_id"] == accepted["run_id"], "the result is that run's own"
    assert result["succeeded"] == 3 and result["seed"] == "a chess clock"

    synchronous = api.post("/api/flows/propose-improvements/run", json=body)
    assert synchronous.status_code == 200
    assert set(result) == set(synchronous.json())
    assert [set(item) for item in result["results"]] == [
        set(item) for item in synchronous.json()["results"]
    ]


def test_an_async_build_of_a_locally_imported_repository(
    api: httpx.Client, served_env: dict[str, str], tmp_path: Path
) -> None:
    require_tool("git", "make")
    folder = make_git_repo(tmp_path / "clock", {"Makefile": "build:\n\techo built-ok\n"})
    done = subprocess.run(
        [PHOENIX, "--json", "ecosystem", "import", str(folder)],
        env=served_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    repo_id = json.loads(done.stdout)["id"]
    assert api.get(f"/api/ecosystem/{repo_id}").json()["build_status"] == "NotBuilt"

    accepted = assert_accepted(api.post(f"/api/ecosystem/{repo_id}/build", params={"wait": "false"}))
    document = follow(api, accepted["status_url"])
    assert document["state_type"] == "COMPLETED", document
    assert document["flow"] == "ecosystem-command"
    assert document["result"]["id"] == repo_id and document["result"]["build_status"] == "Built"
    assert api.get(f"/api/ecosystem/{repo_id}").json()["build_status"] == "Built"


def test_an_unknown_repository_is_404_before_anything_is_submitted(api: httpx.Client) -> None:
    before = flow_run_count(os.environ["PREFECT_API_URL"])
    for path, repo_id in [
        ("/api/ecosystem/0000000000/build", None),
        ("/api/flows/ecosystem-command/run", "0000000000"),
        ("/api/flows/ecosystem-command/run", "../etc"),
    ]:
        body = {"command": "build", "repo_id": repo_id} if repo_id else None
        reply = api.post(path, params={"wait": "false"}, json=body)
        assert reply.status_code == 404, reply.text
        assert "Preference-Applied" not in reply.headers
    assert flow_run_count(os.environ["PREFECT_API_URL"]) == before, "nothing was submitted"


def test_an_unknown_run_is_404_and_a_malformed_id_422(api: httpx.Client) -> None:
    unknown = api.get(f"/api/runs/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    for malformed in ("not-a-run", "1234", f"{uuid.uuid4()}x"):
        reply = api.get(f"/api/runs/{malformed}")
        assert reply.status_code == 422, malformed
        assert reply.json()["code"] == "malformed"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_runs_need_the_bearer_token(api: httpx.Client, headers: dict[str, str]) -> None:
    for path in (f"/api/runs/{uuid.uuid4()}", "/api/runs/not-a-run"):
        reply = httpx.get(f"{api.base_url}{path}", headers=headers)
        assert reply.status_code == 401, path
    asked = httpx.post(
        f"{api.base_url}/api/flows/propose-improvements/run?wait=false",
        json={"seed": "x", "n": 1},
        headers=headers,
    )
    assert asked.status_code == 401


def test_short_operations_ignore_the_preference(api: httpx.Client) -> None:
    prefer = {"Prefer": "respond-async, wait=5"}
    for method, path, body in [
        ("POST", "/api/memory/store", {"key": "async/k", "value": "v"}),
        ("GET", "/api/memory/get/async/k", None),
        ("GET", "/api/ecosystem/list", None),
        ("GET", "/api/status", None),
        ("POST", "/api/command", {"command": "help"}),
        ("POST", "/api/flows/memory/run", {"action": "get", "key": "async/k"}),
        ("POST", "/api/flows/ecosystem-command/run", {"command": "list"}),
    ]:
        for asked in ({"headers": prefer}, {"params": {"wait": "false"}}):
            reply = api.request(method, path, json=body, **asked)  # type: ignore[arg-type]
            assert reply.status_code == 200, (path, reply.text)
            assert "Preference-Applied" not in reply.headers and "run_id" not in reply.json()


def test_wait_true_wins_over_the_header(api: httpx.Client, chat_server_url: str) -> None:
    ChatServer(chat_server_url).reset()
    reply = api.post(
        "/api/flows/propose-improvements/run",
        params={"wait": "true"},
        json={"seed": "a kettle", "n": 1},
        headers={"Prefer": "respond-async"},
    )
    assert reply.status_code == 200 and reply.json()["succeeded"] == 1
    assert "Preference-Applied" not in reply.headers


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/ecosystem/import",
            {"url": "https://alice:s3cr3t-tok@127.0.0.1:9/a/b.git", "build": True},
        ),
        ("/api/flows/import-and-build-repo/run", {"source": "https://s3cr3t-tok@127.0.0.1:9/a/b.git"}),
    ],
)
def test_a_source_url_with_a_credential_is_refused_asynchronously(
    api: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    before = flow_run_count(os.environ["PREFECT_API_URL"])
    reply = api.post(path, json=body, headers={"Prefer": "respond-async"})
    assert reply.status_code == 400, reply.text
    assert "GITHUB_PAT" in reply.json()["message"] and "s3cr3t-tok" not in reply.text
    assert flow_run_count(os.environ["PREFECT_API_URL"]) == before, "nothing was submitted"


@pytest.mark.parametrize(
    "body",
    [{"seed": "x", "n": 0}, {"seed": "  ", "n": 2}, {"seed": "x", "task_runner": "dask"}, {"n": 2}],
)
def test_bad_parameters_are_refused_before_submitting(api: httpx.Client, body: dict[str, Any]) -> None:
    before = flow_run_count(os.environ["PREFECT_API_URL"])
    reply = api.post("/api/flows/propose-improvements/run?wait=false", json=body)
    assert reply.status_code == 400, reply.text
    assert flow_run_count(os.environ["PREFECT_API_URL"]) == before


def test_without_a_runner_the_answer_is_503_and_nothing_is_scheduled(
    tmp_path: Path, chat_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API on a Prefect server of its own (started by Phoenix for a PHOENIX_HOME without
    PREFECT_API_URL), which no `phoenix serve` polls: its deployments do not even exist."""
    from phoenix.prefect_server import running_server, stop_server
    from phoenix.settings import load_settings

    session_url = os.environ["PREFECT_API_URL"]
    home = tmp_path / "unserved-home"
    settings = load_settings({"PHOENIX_HOME": str(home)})
    for name in ("PREFECT_API_URL", "PREFECT_HOME"):  # start_api passes this environment on
        monkeypatch.delenv(name)
    llm = {"PHOENIX_LLM_MODEL": "openai/scripted", "PHOENIX_LLM_API_BASE": f"{chat_server_url}/v1"}
    process, base = start_api(home, tmp_path, llm)
    try:
        record = running_server(settings)
        assert record is not None and record.url != session_url
        headers = {"Authorization": f"Bearer {TOKEN}"}
        reply = httpx.post(
            f"{base}/api/flows/propose-improvements/run?wait=false",
            json={"seed": "x", "n": 2},
            headers=headers,
            timeout=60,
        )
        assert reply.status_code == 503, reply.text
        assert reply.json()["code"] == "not_served" and "phoenix serve" in reply.json()["message"]

        # The deployment exists (as after a `prefect deploy`), but no runner or worker polls it.
        flow = httpx.post(f"{record.url}/flows/", json={"name": "propose-improvements"}).json()
        created = httpx.post(
            f"{record.url}/deployments/", json={"name": "phoenix", "flow_id": flow["id"]}
        )
        assert created.status_code in (200, 201) and created.json()["status"] == "NOT_READY"
        reply = httpx.post(
            f"{base}/api/ecosystem/import",
            json={"owner": "acme", "repo": "clock", "build": True},
            headers=headers | {"Prefer": "respond-async"},
            timeout=60,
        )
        assert reply.status_code == 503, reply.text  # its deployment does not exist either
        reply = httpx.post(
            f"{base}/api/flows/propose-improvements/run",
            json={"seed": "x", "n": 2},
            headers=headers | {"Prefer": "respond-async"},
            timeout=60,
        )
        assert reply.status_code == 503, reply.text
        assert "Nothing serves" in reply.json()["message"] and "phoenix serve" in reply.text
        assert flow_run_count(record.url, deployed_only=False) == 0, "no run scheduled for nobody"
    finally:
        stop_api(process)
        stop_server(settings)
