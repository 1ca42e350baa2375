"""The HTTP API over a real `phoenix api` process: shapes, authentication and status codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ChatServer, wait_for

TOKEN = "test-api-token"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[httpx.Client]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ)
    env.update(
        PHOENIX_HOME=str(tmp_path_factory.mktemp("api-home")),
        PHOENIX_API_TOKEN=TOKEN,
        PHOENIX_LLM_MODEL="openai/scripted",
        PHOENIX_LLM_API_BASE=f"{chat_server_url}/v1",
        PHOENIX_LLM_API_KEY="sk-api-secret",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "phoenix.cli", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/api/health").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout_s=60)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        yield client
    process.terminate()
    process.wait(timeout=20)


def _url(api: httpx.Client, path: str) -> str:
    return str(api.base_url).rstrip("/") + path


def test_health_needs_no_token(api: httpx.Client) -> None:
    reply = httpx.get(_url(api, "/api/health"))
    assert reply.status_code == 200 and reply.json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}]
)
def test_everything_else_needs_the_bearer_token(api: httpx.Client, headers: dict[str, str]) -> None:
    for method, path, body in [
        ("GET", "/api/status", None),
        ("POST", "/api/command", {"command": "help"}),
        ("GET", "/api/memory/get/k", None),
    ]:
        reply = httpx.request(method, _url(api, path), json=body, headers=headers)
        assert reply.status_code == 401, path
        assert reply.json()["message"]


def test_command_returns_the_envelope(api: httpx.Client) -> None:
    reply = api.post("/api/command", json={"command": "help"})
    assert reply.status_code == 200 and reply.json()["type"] == "help"


@pytest.mark.parametrize(
    ("command", "status"),
    [
        ("ecosystem x", 400),
        ("ecosystem x build", 404),
        ("spawn agent a: b", 501),
        ("propose 0 improvements for x", 400),
        ("   ", 400),
        ("memory get nothing-here", 404),
    ],
)
def test_command_errors_have_fitting_statuses(api: httpx.Client, command: str, status: int) -> None:
    reply = api.post("/api/command", json={"command": command})
    assert reply.status_code == status
    assert reply.json()["message"]


def test_malformed_bodies_are_422(api: httpx.Client) -> None:
    assert api.post("/api/command", json={"cmd": "help"}).status_code == 422
    assert (
        api.post(
            "/api/command", content=b"not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    assert api.post("/api/memory/store", json={"key": "k"}).status_code == 422


def test_memory_endpoints(api: httpx.Client) -> None:
    stored = api.post("/api/memory/store", json={"key": "api/lang", "value": "Rust and Python"})
    assert stored.status_code == 200 and stored.json() == {"key": "api/lang", "value": "Rust and Python"}
    assert api.get("/api/memory/get/api/lang").json()["value"] == "Rust and Python"
    found = api.get("/api/memory/search", params={"q": "python", "limit": 5}).json()
    assert found == {"items": [{"key": "api/lang", "value": "Rust and Python"}], "count": 1}
    assert api.get("/api/memory/search", params={"q": "x", "limit": 101}).status_code == 422
    assert api.delete("/api/memory/delete/api/lang").status_code == 200
    assert api.get("/api/memory/get/api/lang").status_code == 404
    assert api.delete("/api/memory/delete/api/lang").status_code == 404


def test_a_blank_key_is_400_and_nothing_is_written(api: httpx.Client) -> None:
    before = api.get("/api/status").json()["memory_items"]
    reply = api.post("/api/memory/store", json={"key": "  ", "value": "v"})
    assert reply.status_code == 400 and "blank" in reply.json()["message"]
    assert api.get("/api/status").json()["memory_items"] == before


def test_speak_answers_and_keeps_the_exchange(api: httpx.Client, chat_server_url: str) -> None:
    ChatServer(chat_server_url).control(replies=["Hello from the LLM"])
    reply = api.post("/api/speak", json={"user_input": "hi there"})
    assert reply.status_code == 200
    assert reply.json()["message"] == "Hello from the LLM"
    episodes = api.get("/api/memory/search", params={"q": "episode/"}).json()
    assert episodes["count"] >= 1


def test_status_reports_without_secrets(api: httpx.Client) -> None:
    reply = api.get("/api/status")
    assert reply.status_code == 200
    body = reply.json()
    assert body["type"] == "status" and body["model"] == "openai/scripted"
    assert "sk-api-secret" not in reply.text and TOKEN not in reply.text


def test_the_openapi_document_lists_every_route(api: httpx.Client) -> None:
    paths = set(api.get("/openapi.json").json()["paths"])
    assert {
        "/api/command",
        "/api/speak",
        "/api/status",
        "/api/health",
        "/api/memory/store",
        "/api/memory/get/{key}",
        "/api/memory/search",
        "/api/memory/delete/{key}",
    } <= paths


def test_ecosystem_endpoints_refuse_local_sources_and_unknown_ids(api: httpx.Client) -> None:
    assert api.get("/api/ecosystem/list").json() == {"items": []}
    for body in ({"url": "file:///etc"}, {"url": "/etc"}):
        reply = api.post("/api/ecosystem/import", json=body)
        assert reply.status_code == 400 and "local folders" in reply.json()["message"]
    assert api.post("/api/ecosystem/import", json={"owner": "a"}).status_code == 422
    assert api.get("/api/ecosystem/nope").status_code == 404
    assert api.delete("/api/ecosystem/nope").status_code == 404
    assert api.post("/api/ecosystem/nope/start").status_code == 404
    assert api.post("/api/ecosystem/nope/explode").status_code == 400
    reply = api.post("/api/ecosystem/nope/command", json={"command": "test", "args": ["; rm -rf /"]})
    assert reply.status_code == 404
