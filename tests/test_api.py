"""The HTTP API over a real `phoenix api` process: shapes, authentication and status codes.

The API's forge (GITHUB_API_URL) is a real git smart-HTTP server on 127.0.0.1 serving acme/webapp,
and the API runs in a folder that holds an `acme/secret` git repository, so a test can tell an
import from the forge from an import of the server's own folders.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ChatServer, git, make_git_repo, require_tool, wait_for
from tests.git_http import GitHTTPServer

TOKEN = "test-api-token"  # noqa: S105 - the test API's own token
UNKNOWN_ID = "0000000000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_api(home: Path, cwd: Path, environment: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """A real `phoenix api` on a free loopback port, once it answers /api/health."""
    port = free_port()
    env = dict(os.environ) | {"PHOENIX_HOME": str(home), "PHOENIX_API_TOKEN": TOKEN} | environment
    log = (home.parent / f"api-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "phoenix.cli", "api", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, f"phoenix api exited; see {log.name}"
        try:
            return httpx.get(f"{base}/api/health").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout_s=90)
    return process, base


def stop_api(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def make_webapp(folder: Path) -> Path:
    """A repository that `make` builds, committed on main."""
    return make_git_repo(folder, {"Makefile": "build:\n\techo built\n\ntest:\n\techo tested\n"})


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHTTPServer]:
    require_tool("git")
    root = tmp_path_factory.mktemp("forge")
    webapp = make_webapp(tmp_path_factory.mktemp("source") / "webapp")
    (root / "acme").mkdir()
    git(root, "clone", "-q", "--bare", str(webapp), str(root / "acme" / "webapp.git"))
    server = GitHTTPServer(root)
    yield server
    server.close()


@pytest.fixture(scope="module")
def api_cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The API's working folder: it holds acme/secret, a git repository of the server."""
    require_tool("git")
    cwd = tmp_path_factory.mktemp("api-cwd")
    make_webapp(cwd / "acme" / "secret")
    return cwd


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
    chat_server_url: str,
    forge: GitHTTPServer,
    api_cwd: Path,
) -> Iterator[httpx.Client]:
    process, base = start_api(
        tmp_path_factory.mktemp("api") / "home",
        api_cwd,
        {
            "PHOENIX_LLM_MODEL": "openai/scripted",
            "PHOENIX_LLM_API_BASE": f"{chat_server_url}/v1",
            "PHOENIX_LLM_API_KEY": "sk-api-secret",
            "PHOENIX_ORCH_RETRIES": "0",
            "PHOENIX_LLM_TIMEOUT": "10",
            "GITHUB_API_URL": f"{forge.url}/api/v3",
        },
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        yield client
    stop_api(process)


def test_health_needs_no_token(api: httpx.Client) -> None:
    reply = httpx.get(f"{api.base_url}/api/health")
    assert reply.status_code == 200 and reply.json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}]
)
def test_everything_else_needs_the_bearer_token(api: httpx.Client, headers: dict[str, str]) -> None:
    for method, path, body in [
        ("GET", "/api/status", None),
        ("POST", "/api/command", {"command": "help"}),
        ("GET", "/api/memory/get/k", None),
        ("POST", "/api/flows/memory/run", {"action": "get", "key": "k"}),
    ]:
        reply = httpx.request(method, f"{api.base_url}{path}", json=body, headers=headers)
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
        ("spawn agent ***: b", 400),
        ("system restart", 400),
        ("system exec ls", 403),
        ("propose 0 improvements for x", 400),
        ("   ", 422),
        ("", 422),
        ("memory get nothing-here", 404),
    ],
)
def test_command_errors_have_fitting_statuses(api: httpx.Client, command: str, status: int) -> None:
    reply = api.post("/api/command", json={"command": command})
    assert reply.status_code == status
    assert reply.json()["message"]


def test_malformed_bodies_are_422(api: httpx.Client) -> None:
    assert api.post("/api/command", json={"cmd": "help"}).status_code == 422
    not_json = api.post(
        "/api/command", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422 and not_json.json()["code"] == "malformed"
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


@pytest.mark.parametrize("key", ["", "  ", "\t\n"])
def test_a_blank_key_is_refused_by_the_schema_and_nothing_is_written(
    api: httpx.Client, key: str
) -> None:
    before = api.get("/api/status").json()["memory_items"]
    reply = api.post("/api/memory/store", json={"key": key, "value": "v"})
    assert reply.status_code == 422 and reply.json()["code"] == "malformed"
    assert api.get("/api/status").json()["memory_items"] == before


def test_speak_answers_and_keeps_the_exchange(api: httpx.Client, chat_server_url: str) -> None:
    ChatServer(chat_server_url).reset()
    ChatServer(chat_server_url).control(replies=["Hello from the LLM"])
    reply = api.post("/api/speak", json={"user_input": "hi there"})
    assert reply.status_code == 200
    assert reply.json()["message"] == "Hello from the LLM"
    episodes = api.get("/api/memory/search", params={"q": "episode/"}).json()
    assert episodes["count"] >= 1


def test_speak_recalls_its_own_conversation_only(api: httpx.Client, chat_server_url: str) -> None:
    ChatServer(chat_server_url).reset()
    ChatServer(chat_server_url).control(replies=["Noted."])
    first = api.post("/api/speak", json={"user_input": "My cat is called Miso", "conversation": "pets"})
    assert first.status_code == 200 and first.json()["conversation"] == "pets"
    other = api.post("/api/speak", json={"user_input": "What is my cat called?", "conversation": "work"})
    assert other.json()["conversation"] == "work"
    assert other.json()["context"]["episodes"] == [], "another conversation's turn was recalled"
    again = api.post("/api/speak", json={"user_input": "What is my cat called?", "conversation": "pets"})
    assert first.json()["episode_key"] in again.json()["context"]["episodes"]


def test_status_reports_without_secrets(api: httpx.Client) -> None:
    reply = api.get("/api/status")
    assert reply.status_code == 200
    body = reply.json()
    assert body["type"] == "status" and body["model"] == "openai/scripted"
    assert "sk-api-secret" not in reply.text and TOKEN not in reply.text


def test_a_failed_operation_keeps_its_data_and_gets_its_status_on_every_route(
    api: httpx.Client, chat_server_url: str
) -> None:
    """A flow result of type "error" (here a propose whose every ORCH failed) is a 502 with data."""
    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(failure_rate=1.0, failure_status=400)
    try:
        through_router = api.post("/api/command", json={"command": "propose 2 improvements for x"})
        through_flows = api.post("/api/flows/propose-improvements/run", json={"seed": "x", "n": 2})
    finally:
        chat.reset()
    for reply in (through_router, through_flows):
        assert reply.status_code == 502, reply.text
        body = reply.json()
        assert body["type"] == "error" and body["code"] and body["message"]
        assert set(body) > {"type", "code", "message"}, "the run's data is kept"


# Every operation of the API, and requests that make it answer each status it can be made to give
# here; the test below checks that this covers every route of the app and that each answered status
# is documented for its route.
PROBES: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None, int]] = [
    ("GET", "/api/health", None, None, 200),
    ("GET", "/api/status", None, None, 200),
    ("POST", "/api/command", {"command": "help"}, None, 200),
    ("POST", "/api/command", {"command": "ecosystem x"}, None, 400),
    ("POST", "/api/command", {"command": "memory get nothing-here"}, None, 404),
    ("POST", "/api/command", {"command": "system restart"}, None, 400),
    ("POST", "/api/command", {"command": "spawn agent ***: b"}, None, 400),
    ("POST", "/api/command", {}, None, 422),
    ("POST", "/api/speak", {"user_input": "hello"}, None, 200),
    ("POST", "/api/speak", {"user_input": " "}, None, 422),
    ("POST", "/api/memory/store", {"key": "probe", "value": "v"}, None, 200),
    ("POST", "/api/memory/store", {"key": "probe"}, None, 422),
    ("GET", "/api/memory/get/probe", None, None, 200),
    ("GET", "/api/memory/get/nothing-here", None, None, 404),
    ("GET", "/api/memory/get/%20", None, None, 422),
    ("GET", "/api/memory/search", None, {"q": "probe"}, 200),
    ("GET", "/api/memory/search", None, {"q": "probe", "limit": 0}, 422),
    ("DELETE", "/api/memory/delete/probe", None, None, 200),
    ("DELETE", "/api/memory/delete/probe", None, None, 404),
    ("POST", "/api/memory/vector/store", {"text": "a probe about rivers"}, None, 200),
    ("POST", "/api/memory/vector/store", {"text": " "}, None, 400),
    ("POST", "/api/memory/vector/store", {}, None, 422),
    ("GET", "/api/memory/vector/search", None, {"q": "streams of water"}, 200),
    ("GET", "/api/memory/vector/search", None, {"q": "x", "filter": "no-colon"}, 400),
    ("GET", "/api/memory/vector/all", None, None, 200),
    ("GET", "/api/system/status", None, None, 200),
    ("POST", "/api/system/exec", {"argv": ["ls"]}, None, 403),
    ("POST", "/api/system/exec", {"argv": "ls"}, None, 422),
    ("POST", "/api/system/read-file", {"path": "notes.txt"}, None, 403),
    ("POST", "/api/system/write-file", {"path": "notes.txt", "content": "x"}, None, 403),
    ("POST", "/api/ecosystem/import", {"owner": "acme", "repo": "missing"}, None, 404),
    ("POST", "/api/ecosystem/import", {"url": "file:///etc"}, None, 422),
    ("GET", "/api/ecosystem/list", None, None, 200),
    ("GET", f"/api/ecosystem/{UNKNOWN_ID}", None, None, 404),
    ("GET", "/api/ecosystem/nope", None, None, 404),
    ("DELETE", f"/api/ecosystem/{UNKNOWN_ID}", None, None, 404),
    ("DELETE", "/api/ecosystem/nope", None, None, 404),
    ("POST", f"/api/ecosystem/{UNKNOWN_ID}/build", None, None, 404),
    ("POST", f"/api/ecosystem/{UNKNOWN_ID}/start", None, None, 404),
    ("POST", f"/api/ecosystem/{UNKNOWN_ID}/stop", None, None, 404),
    ("POST", "/api/ecosystem/nope/stop", None, None, 404),
    ("POST", f"/api/ecosystem/{UNKNOWN_ID}/command", {"command": "test"}, None, 404),
    ("POST", f"/api/ecosystem/{UNKNOWN_ID}/command", {"command": ""}, None, 422),
    ("POST", "/api/flows/memory/run", {"action": "get", "key": "nothing-here"}, None, 404),
    ("POST", "/api/flows/memory/run", {"action": "explode"}, None, 400),
    ("POST", "/api/flows/no-such-flow/run", {}, None, 404),
    ("POST", "/api/flows/import-and-build-repo/run", {"source": "/etc"}, None, 400),
    ("POST", "/api/flows/router/run", {"command": "help"}, None, 200),
    ("GET", "/api/runs/00000000-0000-4000-8000-000000000000", None, None, 404),
    ("GET", "/api/runs/not-a-run-id", None, None, 422),
    ("GET", "/api/agents", None, None, 200),
    ("POST", "/api/agents/spawn", {"description": "x", "name": "***"}, None, 400),
    ("POST", "/api/agents/spawn", {"description": " "}, None, 422),
    ("GET", f"/api/agents/{UNKNOWN_ID}", None, None, 404),
    ("POST", f"/api/agents/{UNKNOWN_ID}/import", None, None, 404),
    # Not a forge call: the local forge is not started in this home (tests/test_api_agents.py).
    ("GET", "/api/pulls", None, {"state": "merged"}, 422),
    ("POST", "/api/pulls/acme/webapp/0/approve", None, None, 422),
    ("POST", "/api/pulls/acme/webapp/1/merge", {"method": "gold"}, None, 422),
]


def _operation(paths: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented path template and operation that `path` is routed to (literal paths first)."""
    import re

    for template in sorted(paths, key=lambda t: t.count("{")):
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, path) and method.lower() in paths[template]:
            return template, paths[template][method.lower()]
    raise AssertionError(f"{method} {path} matches no documented operation")


def _api_routes(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every API route, inside included routers too (FastAPI ≥ 0.150 keeps
    an included router as one route that points to the original)."""
    import re

    from fastapi.routing import APIRoute

    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            path = re.sub(r":[^}]+\}", "}", route.path)  # {key:path} is documented as {key}
            found |= {(method, path) for method in route.methods}
        elif (included := getattr(route, "original_router", None)) is not None:
            found |= _api_routes(included.routes)
    return found


def test_every_route_is_documented_and_answers_only_documented_statuses(api: httpx.Client) -> None:
    from phoenix.api.app import create_app

    document = api.get("/openapi.json").json()
    documented = {
        (method.upper(), path) for path, operations in document["paths"].items() for method in operations
    }
    assert documented == _api_routes(create_app("x").routes) and len(documented) == 32
    probed: set[tuple[str, str]] = set()
    for method, path, body, params, status in PROBES:
        template, operation = _operation(document["paths"], method, path)
        first = (method, template) not in probed
        probed.add((method, template))
        reply = api.request(method, path, json=body, params=params)
        assert reply.status_code == status, (method, path, reply.text)
        assert str(status) in operation["responses"], (method, template, status)
        if first and template != "/api/health":
            anonymous = httpx.request(method, f"{api.base_url}{path}", json=body, params=params)
            assert anonymous.status_code == 401 and "401" in operation["responses"]
    assert probed == documented, f"no probe for {documented - probed}"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                if not status.startswith("2"):
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, method)
                else:
                    assert schema != {}, f"{method} {path} has no response model"


def test_a_wrong_method_gets_405_listing_the_documented_ones(api: httpx.Client) -> None:
    for method, path, allowed in [
        ("PUT", f"/api/ecosystem/{UNKNOWN_ID}", {"GET", "DELETE"}),
        ("GET", f"/api/ecosystem/{UNKNOWN_ID}/build", {"POST"}),
        ("PATCH", "/api/ecosystem/list", {"GET"}),
        ("DELETE", "/api/ecosystem/list", {"GET"}),
        ("GET", "/api/ecosystem/import", {"POST"}),
        ("PUT", "/api/memory/get/k", {"GET"}),
    ]:
        reply = api.request(method, path)
        assert reply.status_code == 405, (method, path)
        assert set(reply.headers["Allow"].replace(" ", "").split(",")) == allowed
        assert reply.json()["message"]


def _ecosystem_ids(api: httpx.Client) -> list[str]:
    return [record["id"] for record in api.get("/api/ecosystem/list").json()["items"]]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/ecosystem/import", {"url": "file:///etc"}, 422),
        ("/api/ecosystem/import", {"url": "/etc"}, 422),
        ("/api/ecosystem/import", {"url": "acme/secret"}, 422),
        ("/api/ecosystem/import", {"owner": "/home/u", "repo": "p"}, 422),
        ("/api/ecosystem/import", {"owner": "..", "repo": "acme"}, 422),
        ("/api/ecosystem/import", {"owner": "-u", "repo": "p"}, 422),
        ("/api/ecosystem/import", {"owner": "a"}, 422),
        ("/api/flows/import-and-build-repo/run", {"source": "/etc"}, 400),
        ("/api/flows/import-and-build-repo/run", {"source": "file:///etc"}, 400),
        ("/api/flows/import-and-build-repo/run", {"source": "../api-cwd"}, 400),
        ("/api/flows/import-and-build-repo/run", {"source": "./acme/secret"}, 400),
        ("/api/flows/import-and-build-repo/run", {"source": ["acme/secret"]}, 400),
        ("/api/flows/import-and-build-repo/run", {}, 400),
        ("/api/command", {"command": "ecosystem acme import ./acme/secret"}, 404),
    ],
)
def test_no_way_in_imports_the_servers_own_folders(
    api: httpx.Client, api_cwd: Path, path: str, body: dict[str, Any], status: int
) -> None:
    before = _ecosystem_ids(api)
    reply = api.post(path, json=body)
    assert reply.status_code == status, reply.text
    assert _ecosystem_ids(api) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/ecosystem/import", {"owner": "acme", "repo": "secret"}),
        ("/api/flows/import-and-build-repo/run", {"source": "acme/secret"}),
    ],
)
def test_owner_repo_is_asked_of_the_forge_even_when_a_local_folder_has_that_name(
    api: httpx.Client, forge: GitHTTPServer, path: str, body: dict[str, Any]
) -> None:
    asked = len(forge.paths)
    reply = api.post(path, json=body)
    assert reply.status_code == 404, reply.text
    assert any(p.startswith("/acme/secret.git") for p in forge.paths[asked:])


def test_the_api_imports_from_the_forge_without_building_unless_asked(
    api: httpx.Client, forge: GitHTTPServer
) -> None:
    require_tool("make")
    imported = api.post("/api/ecosystem/import", json={"owner": "acme", "repo": "webapp"})
    assert imported.status_code == 200, imported.text
    record = imported.json()
    assert record["url"] == f"{forge.url}/acme/webapp.git"
    assert record["build_status"] == "NotBuilt"
    by_url = api.post(
        "/api/ecosystem/import", json={"url": f"{forge.url}/acme/webapp.git", "build": True}
    )
    assert by_url.status_code == 200, by_url.text
    assert by_url.json()["id"] == record["id"] and by_url.json()["build_status"] == "Built"
    through_flows = api.post(
        "/api/flows/import-and-build-repo/run", json={"source": "acme/webapp", "build": False}
    )
    assert through_flows.status_code == 200 and through_flows.json()["id"] == record["id"]
    assert api.get(f"/api/ecosystem/{record['id']}").json()["name"] == "webapp"
    assert api.delete(f"/api/ecosystem/{record['id']}").status_code == 200


def test_binding_beyond_loopback_needs_a_token_of_the_users_own(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PHOENIX_API_TOKEN"}
    env["PHOENIX_HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "api-token").write_text("generated-token")  # the local service's file
    for host in ("example.invalid", "0.0.0.0", "::"):  # noqa: S104 - never bound: refused first
        done = subprocess.run(
            [sys.executable, "-m", "phoenix.cli", "api", "--host", host, "--port", "9"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert "PHOENIX_API_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_beyond_loopback_the_api_says_what_its_token_grants(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ) | {"PHOENIX_HOME": str(tmp_path / "home"), "PHOENIX_API_TOKEN": TOKEN}
    env["PREFECT_API_URL"] = os.environ["PREFECT_API_URL"]  # the session's server
    process = subprocess.Popen(
        [sys.executable, "-m", "phoenix.cli", "api", "--host", "0.0.0.0", "--port", str(port)],  # noqa: S104
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()

    def healthy() -> bool:  # checked over loopback only
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None  # it exited: stop waiting, the asserts say why

    try:
        wait_for(healthy, timeout_s=90)
    finally:
        stop_api(process)
        reader.join(timeout=10)
    warnings = [line for line in lines if "loopback" in line]
    assert len(warnings) == 1, lines
    assert "remote code execution" in warnings[0] and TOKEN not in "".join(lines)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_token_of_the_users_own(host: str) -> None:
    from phoenix.api.server import check_bind_address
    from phoenix.settings import PhoenixSettings

    assert check_bind_address(host, PhoenixSettings()) is None
