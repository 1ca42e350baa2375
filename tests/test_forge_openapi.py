"""The local forge's JSON checked against GitHub's published response schemas.

`tests/fixtures/github_rest_subset.json` is GitHub's own description of these responses (see its
`source`), cut by `tests/fixtures/extract_github_schemas.py`; so "the forge answers as GitHub does
for what PyGithub uses" is tested per route: required properties, types, enums and date-time
formats. What the forge leaves out on purpose is listed in `KNOWN_OMISSIONS`, each with a reason.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from pydantic import SecretStr

from phoenix.forge import server
from phoenix.github.client import push_folder
from phoenix.settings import load_settings
from tests.conftest import require_tool

FIXTURE = Path(__file__).parent / "fixtures" / "github_rest_subset.json"
OPERATIONS: dict[str, Any] = json.loads(FIXTURE.read_text())["operations"]
ORG = "phoenix-agents"
BOT = "phoenix-bot"

# (schema title, required property) -> why the forge does not send it.
NO_GIT_DAEMON = "git goes over HTTP only: there is no git:// or ssh address to give"
NO_DIFF_STATS = "diff statistics are not computed (it would take git calls on every PR read)"
KNOWN_OMISSIONS: dict[tuple[str, str], str] = {
    ("Public User", "public_repos"): "the account routes do not count repositories",
    ("Organization Full", "public_repos"): "the account routes do not count repositories",
    **{
        (title, field): reason
        for title in ("Full Repository", "Repository")
        for field, reason in {
            "git_url": NO_GIT_DAEMON,
            "ssh_url": NO_GIT_DAEMON,
            "open_issues": "GitHub counts open issues and PRs; the forge does not count PRs here",
            "open_issues_count": "as open_issues",
            "pushed_at": "the forge does not record push times",
            "size": "the forge does not measure the bare repository",
        }.items()
    },
    **{("Pull Request", f): NO_DIFF_STATS for f in ("additions", "deletions", "changed_files")},
    ("Pull Request", "commits"): NO_DIFF_STATS,
    ("CheckRun", "check_suite"): "no check suites here; null (which the schema allows) breaks PyGithub",
}

Json = Any


def openapi_to_json_schema(schema: Json, omit: dict[tuple[str, str], str]) -> Json:
    """OpenAPI 3.0's `nullable` as JSON Schema's `null` type, less the known omissions."""
    if isinstance(schema, list):
        return [openapi_to_json_schema(item, omit) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: (
            {name: openapi_to_json_schema(sub, omit) for name, sub in value.items()}
            if key == "properties"
            else openapi_to_json_schema(value, omit)
            if key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf")
            else value
        )
        for key, value in schema.items()
    }
    title = schema.get("title")
    if "required" in out:
        out["required"] = [name for name in out["required"] if (title, name) not in omit]
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def leaf_errors(operation: str, body: Json, omit: dict[tuple[str, str], str]) -> list[Any]:
    """Every way `body` breaks GitHub's schema for `operation` (oneOf/anyOf: each branch's)."""
    schema = openapi_to_json_schema(copy.deepcopy(OPERATIONS[operation]["schema"]), omit)
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    found: list[Any] = []

    def walk(errors: Any) -> None:
        for error in errors:
            if error.context:
                walk(error.context)
            else:
                found.append(error)

    walk(validator.iter_errors(body))
    return found


def problems(operation: str, body: Json) -> list[str]:
    """`leaf_errors` less the known omissions, one line each: where, and what."""
    lines = {
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message[:200]}"
        for error in leaf_errors(operation, body, KNOWN_OMISSIONS)
    }
    return sorted(lines)


class Recorder:
    """Calls the forge's REST API as a token's user and keeps each JSON body by operation."""

    def __init__(self, api: str, tokens: dict[str, str]) -> None:
        self.api = api
        self.tokens = tokens
        self.bodies: dict[str, list[Json]] = {}

    def call(self, operation: str, path: str, as_user: str = BOT, body: Json = None) -> Json:
        method = operation.split(" ", 1)[0]
        reply = httpx.request(
            method,
            self.api + path,
            json=body,
            headers={"Authorization": f"token {self.tokens[as_user]}"},
            timeout=30,
        )
        assert reply.status_code == OPERATIONS[operation]["status"], (operation, reply.text)
        self.bodies.setdefault(operation, []).append(reply.json())
        return reply.json()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Json]]]:
    """One forge, one scenario through every route: user and org repos, a pushed branch, a PR,
    a status, a check run, two reviews and the merge; each response kept for its schema test."""
    require_tool("git")
    home = tmp_path_factory.mktemp("forge-openapi")
    settings = load_settings({"PHOENIX_HOME": str(home)})
    tokens = {BOT: server.issue_token(settings, BOT, ORG)["token"]}
    url = server.ensure_forge(settings, announce=False)
    tokens["reviewer"] = server.issue_token(settings, "reviewer", ORG)["token"]
    try:
        forge = Recorder(server.api_url(url), tokens)
        repo_path = f"/repos/{ORG}/agent"
        forge.call("GET /meta", "/meta")
        forge.call("GET /user", "/user")
        forge.call("GET /users/{username}", f"/users/{BOT}")
        forge.call("GET /orgs/{org}", f"/orgs/{ORG}")
        forge.call("POST /user/repos", "/user/repos", body={"name": "mine", "auto_init": True})
        repo = forge.call(
            "POST /orgs/{org}/repos",
            f"/orgs/{ORG}/repos",
            body={"name": "agent", "private": True, "description": "x"},
        )
        folder, token = tmp_path_factory.mktemp("agent-work"), SecretStr(tokens[BOT])
        (folder / "README.md").write_text("# agent\n")
        push_folder(folder, repo["clone_url"], "main", token, "Scaffold")
        (folder / "lib.rs").write_text("pub fn run() {}\n")
        head = push_folder(folder, repo["clone_url"], "evolve/one", token, "Agent code")
        forge.call("GET /user/repos", "/user/repos")
        forge.call("GET /orgs/{org}/repos", f"/orgs/{ORG}/repos")
        forge.call("GET /repos/{owner}/{repo}", repo_path)
        forge.call("GET /repos/{owner}/{repo}/branches/{branch}", f"{repo_path}/branches/evolve/one")
        forge.call("GET /repos/{owner}/{repo}/commits/{ref}", f"{repo_path}/commits/{head}")
        forge.call(
            "POST /repos/{owner}/{repo}/statuses/{sha}",
            f"{repo_path}/statuses/{head}",
            body={"state": "success", "context": "ci", "description": "ok"},
        )
        forge.call(
            "GET /repos/{owner}/{repo}/commits/{ref}/status", f"{repo_path}/commits/{head}/status"
        )
        forge.call(
            "POST /repos/{owner}/{repo}/check-runs",
            f"{repo_path}/check-runs",
            body={"name": "lint", "head_sha": head, "conclusion": "success",
                  "output": {"title": "Lint", "summary": "clean"}},
        )  # fmt: skip
        forge.call(
            "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
            f"{repo_path}/commits/{head}/check-runs",
        )
        pull = forge.call(
            "POST /repos/{owner}/{repo}/pulls",
            f"{repo_path}/pulls",
            body={"title": "Spawn", "head": "evolve/one", "base": "main", "body": "report"},
        )
        number = pull["number"]
        forge.call("GET /repos/{owner}/{repo}/pulls", f"{repo_path}/pulls")
        forge.call(
            "POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            f"{repo_path}/pulls/{number}/reviews",
            as_user="reviewer",
            body={"event": "APPROVE", "body": "fine"},
        )
        forge.call(
            "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            f"{repo_path}/pulls/{number}/reviews",
        )
        forge.call("GET /repos/{owner}/{repo}/pulls/{pull_number}", f"{repo_path}/pulls/{number}")
        forge.call(
            "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge",
            f"{repo_path}/pulls/{number}/merge",
            body={"merge_method": "squash"},
        )
        # Once more when merged and closed: other fields are set then (merged_by, merged_at).
        forge.call("GET /repos/{owner}/{repo}/pulls/{pull_number}", f"{repo_path}/pulls/{number}")
        forge.call("GET /repos/{owner}/{repo}/pulls", f"{repo_path}/pulls?state=all")
        yield forge.bodies
    finally:
        server.stop_forge(settings)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_response_matches_githubs_schema(operation: str, recorded: dict[str, list[Json]]) -> None:
    bodies = recorded[operation]
    assert bodies, f"the scenario never called {operation}"
    if isinstance(bodies[0], list):  # a listing: each shows at least one item
        assert all(bodies), f"{operation} answered an empty list"
    found = [line for body in bodies for line in problems(operation, body)]
    assert not found, f"{operation} differs from GitHub's schema:\n" + "\n".join(found)


def test_known_omissions_are_still_omitted(recorded: dict[str, list[Json]]) -> None:
    """An entry the forge now sends (or GitHub no longer requires) must leave the list."""
    missing = {
        (error.schema.get("title"), error.message.split("'")[1])
        for operation, bodies in recorded.items()
        for body in bodies
        for error in leaf_errors(operation, body, {})
        if error.validator == "required"
    }
    assert set(KNOWN_OMISSIONS) <= missing, set(KNOWN_OMISSIONS) - missing
