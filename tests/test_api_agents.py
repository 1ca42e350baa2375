"""Agents and pull requests over real HTTP: a `phoenix api` process on a fresh PHOENIX_HOME, the
scripted chat server as its model, its own local forge (started on demand by the first call that
needs it, stopped when the module ends).

The spawn that runs here is the cheap one: code that never compiles, with no repair, aborts after
one `cargo test` (a tokio build) before anything is created on the forge.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ChatServer, cli_environment, require_tool, wait_for
from tests.test_api import TOKEN, UNKNOWN_ID, start_api, stop_api

BROKEN = 'pub async fn run() {\n    let x: u32 = "no";\n}\n'


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from phoenix.forge.server import stop_forge
    from phoenix.settings import load_settings

    home = tmp_path_factory.mktemp("api-agents") / "home"
    yield home
    stop_forge(load_settings({"PHOENIX_HOME": str(home)}))


@pytest.fixture(scope="module")
def api(
    home: Path, chat_server_url: str, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    for name in ("GITHUB_PAT", "GITHUB_API_URL", "MANDATE_GITHUB_CI"):  # the local forge, defaults
        monkeypatch_module.delenv(name, raising=False)
    monkeypatch_module.setenv("PHOENIX_FORGE_CI", "off")  # no cargo test of the pushes below
    process, base = start_api(
        home,
        home.parent,
        {
            "PHOENIX_LLM_MODEL": "openai/scripted",
            "PHOENIX_LLM_API_BASE": f"{chat_server_url}/v1",
            "PHOENIX_LLM_API_KEY": "sk-api-agents-secret",
            "PHOENIX_LLM_TIMEOUT": "20",
            "PHOENIX_SPAWN_REPAIRS": "0",
        },
    )
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600
    ) as client:
        yield client
    stop_api(process)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def error_of(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["message"] and body["code"], body
    return body


def test_a_fresh_home_has_no_agents_and_no_pull_requests(api: httpx.Client) -> None:
    assert api.get("/api/agents").json() == {"items": []}
    reply = api.get("/api/pulls")  # starts the home's forge, whose bot sees no repository yet
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"items": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/agents"),
        ("POST", "/api/agents/spawn"),
        ("GET", f"/api/agents/{UNKNOWN_ID}"),
        ("POST", f"/api/agents/{UNKNOWN_ID}/import"),
        ("GET", "/api/pulls"),
        ("POST", "/api/pulls/acme/webapp/1/approve"),
        ("POST", "/api/pulls/acme/webapp/1/merge"),
    ],
)
def test_every_route_needs_the_bearer_token(api: httpx.Client, method: str, path: str) -> None:
    reply = httpx.request(method, f"{api.base_url}{path}", json={"description": "a weather bot"})
    assert error_of(reply, 401)["code"] == "http_401"
    assert reply.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("body", "query", "status", "expected"),
    [
        ({"description": "reports the weather", "name": "***"}, "", 400, "cannot name an agent"),
        ({"description": "!!! ???"}, "", 400, "No name can be made"),
        # Checked before anything is submitted, whichever way the spawn would run.
        ({"description": "reports the weather", "name": "***"}, "?wait=false", 400, "cannot name"),
        ({"description": ""}, "", 422, "description"),
        ({"description": "   "}, "", 422, "description"),
        ({"name": "weather-bot"}, "", 422, "description"),
        ({"description": "x", "tier": "gold"}, "", 422, "tier"),
    ],
)
def test_bad_spawn_input_is_refused_before_the_llm_is_asked(
    api: httpx.Client,
    chat_server_url: str,
    body: dict[str, Any],
    query: str,
    status: int,
    expected: str,
) -> None:
    chat = ChatServer(chat_server_url)
    chat.reset()
    body = error_of(api.post(f"/api/agents/spawn{query}", json=body), status)
    assert expected in body["message"]
    assert chat.stats()["requests"] == 0
    assert api.get("/api/agents").json() == {"items": []}  # no record was started either


def test_unknown_agents_are_404_and_spawn_is_not_an_id(api: httpx.Client) -> None:
    assert error_of(api.get(f"/api/agents/{UNKNOWN_ID}"), 404)["code"] == "not_found"
    assert error_of(api.post(f"/api/agents/{UNKNOWN_ID}/import"), 404)["code"] == "not_found"
    assert error_of(api.get("/api/agents/not-an-id"), 404)["code"] == "http_404"
    reply = api.get("/api/agents/spawn")
    assert error_of(reply, 405)["code"] == "http_405"
    assert reply.headers["Allow"] == "POST"


def test_pull_requests_unknown_or_malformed(api: httpx.Client) -> None:
    unknown = api.post("/api/pulls/phoenix-agents/no-such-agent/1/approve")
    assert "phoenix-agents/no-such-agent" in error_of(unknown, 404)["message"]
    assert error_of(api.post("/api/pulls/phoenix-agents/no-such-agent/1/merge"), 404)
    assert error_of(api.post("/api/pulls/acme/webapp/0/approve"), 422)["code"] == "malformed"
    assert error_of(api.post("/api/pulls/acme/webapp/seven/approve"), 422)
    assert error_of(api.post("/api/pulls/acme/webapp/1/merge", json={"method": "gold"}), 422)
    assert error_of(api.get("/api/pulls?state=merged"), 422)


def test_code_that_never_compiles_is_a_502_with_the_record_kept(
    api: httpx.Client, chat_server_url: str
) -> None:
    require_tool("cargo")
    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(replies=[BROKEN])
    reply = api.post("/api/agents/spawn", json={"description": "never compiles", "name": "broken-bot"})
    aborted = error_of(reply, 502)
    assert aborted["code"] == "spawn_aborted" and aborted["type"] == "error"
    assert aborted["status"] == "aborted" and aborted["name"] == "broken-bot"
    assert aborted["attempts"] == 1 and aborted["test_report"]["passed"] is False
    assert "openai/scripted" in aborted["message"] and "Nothing was published" in aborted["message"]
    assert aborted["repo_url"] is None and aborted["pr_url"] is None
    assert aborted["waiting_for"] is None
    assert chat.stats()["requests"] == 1  # no repair: PHOENIX_SPAWN_REPAIRS=0

    shown = api.get(f"/api/agents/{aborted['id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "aborted" and shown.json()["error"] == aborted["error"]
    listed = api.get("/api/agents").json()["items"]
    assert [item["id"] for item in listed] == [aborted["id"]]
    assert api.get("/api/pulls").json() == {"items": []}  # nothing reached the forge

    refused = error_of(api.post(f"/api/agents/{aborted['id']}/import"), 400)
    assert "has no repository" in refused["message"]


def test_a_pull_request_is_listed_approved_by_the_reviewer_and_merged(
    api: httpx.Client, home: Path, tmp_path: Path
) -> None:
    """A PR the bot opened on the API's forge (as a spawn would), carried through the API."""
    require_tool("git")
    from phoenix.github.access import local_forge_access
    from phoenix.github.client import connect, ensure_pull, ensure_repository, push_folder
    from phoenix.settings import load_settings

    access = local_forge_access(load_settings({"PHOENIX_HOME": str(home)}))
    repo = ensure_repository(
        connect(access.api_url, access.token), "phoenix-agents", "api-bot", private=True,
        description="t",
    )  # fmt: skip
    (tmp_path / "README.md").write_text("# api-bot\n")
    push_folder(tmp_path, repo.clone_url, "main", access.token, "Start")
    (tmp_path / "src.rs").write_text("pub async fn run() {}\n")
    push_folder(tmp_path, repo.clone_url, "feature", access.token, "Agent code")
    pull = ensure_pull(repo, "feature", "main", "Spawn agent: api-bot", "report")
    path = f"/api/pulls/phoenix-agents/api-bot/{pull.number}"

    [listed] = api.get("/api/pulls").json()["items"]
    assert listed["id"] == f"phoenix-agents/api-bot#{pull.number}"
    assert (listed["state"], listed["merged"], listed["approvals"]) == ("open", False, [])
    assert "approv" in error_of(api.post(f"{path}/merge"), 409)["message"]

    approved = api.post(f"{path}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "reviewer"
    assert approved.json()["head_sha"] == listed["head_sha"]
    assert api.get("/api/pulls?state=open").json()["items"][0]["approvals"] == ["reviewer"]

    merged = api.post(f"{path}/merge", json={"method": "squash"})
    assert merged.status_code == 200, merged.text
    assert merged.json()["merged"] is True and merged.json()["method"] == "squash"
    assert merged.json()["merged_by"] == "reviewer"
    assert api.get("/api/pulls?state=open").json() == {"items": []}
    assert error_of(api.post(f"{path}/approve"), 409)["code"] == "conflict"
    assert error_of(api.post(f"{path}/merge"), 409)["code"] == "conflict"


@pytest.fixture(scope="module")
def served_api(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[httpx.Client]:
    """`phoenix serve` (serving spawn-agent/phoenix) and `phoenix api` on one PHOENIX_HOME."""
    from tests.test_async_api import deployments_ready, start_serve, stop_serve

    require_tool("cargo")
    with cli_environment(
        tmp_path_factory, chat_server_url, "api-agents-async", PHOENIX_SPAWN_REPAIRS="0",
        PHOENIX_LLM_TIMEOUT="20",
    ) as env:  # fmt: skip
        for name in ("GITHUB_PAT", "GITHUB_API_URL", "MANDATE_GITHUB_CI"):
            env.pop(name, None)
        serve = start_serve(env)
        try:
            wait_for(lambda: deployments_ready(("spawn-agent/phoenix",)), timeout_s=60)
            process, base = start_api(Path(env["PHOENIX_HOME"]), tmp_path_factory.mktemp("cwd"), env)
            try:
                with httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
                ) as client:
                    yield client
            finally:
                stop_api(process)
        finally:
            stop_serve(serve)


def test_an_async_spawn_is_followed_to_its_aborted_record(
    served_api: httpx.Client, chat_server_url: str
) -> None:
    from tests.test_async_api import assert_accepted, follow

    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(replies=[BROKEN])
    reply = served_api.post(
        "/api/agents/spawn",
        json={"description": "never compiles either", "name": "late-bot", "tier": "paid"},
        headers={"Prefer": "respond-async"},
    )
    accepted = assert_accepted(reply)
    document = follow(served_api, accepted["status_url"])
    assert document["state_type"] == "COMPLETED", document
    result = document["result"]
    assert result["code"] == "spawn_aborted" and result["status"] == "aborted", result
    assert result["name"] == "late-bot" and result["tier"] == "paid"
    shown = served_api.get(f"/api/agents/{result['id']}")
    assert shown.status_code == 200 and shown.json()["status"] == "aborted", shown.text
