"""Importing repositories: real git repositories made by the test, cloned over file://."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from flows import run_flow
from phoenix.ecosystem.source import (
    check_remote_import,
    credentials_out_of_band,
    resolve_source,
    split_credentials,
)
from phoenix.errors import BadInput, NotFound
from tests.conftest import git, require_tool

CONTRACT_FIELDS = {
    "id", "name", "owner", "url", "local_path", "branch", "commit", "build_system",
    "build_systems", "commands", "start_command", "build_status", "service_status", "pid",
    "port", "exit_code", "created_at", "last_built",
}  # fmt: skip


@pytest.fixture
def node_repo(tmp_path: Path) -> Path:
    """A small npm project with a Makefile, committed on branch main (plus a `dev` branch)."""
    repo = tmp_path / "webapp"
    repo.mkdir()
    (repo / "package.json").write_text(
        json.dumps({"name": "webapp", "scripts": {"start": "node server.js", "test": "node t.js"}})
    )
    (repo / "server.js").write_text("require('http').createServer().listen(process.env.PORT)\n")
    (repo / "Makefile").write_text("all: build\n\nbuild:\n\techo built\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "branch", "dev")
    return repo


def ecosystem(command: str, repo_id: str | None = None) -> dict:
    return run_flow("ecosystem-command", {"command": command, "repo_id": repo_id})


def test_import_records_the_repository_and_its_commands(phoenix_home: Path, node_repo: Path) -> None:
    record = run_flow("import-and-build-repo", {"source": str(node_repo), "build": False})
    assert set(record) >= CONTRACT_FIELDS
    assert record["name"] == "webapp" and record["branch"] == "main"
    assert record["url"] == node_repo.resolve().as_uri()
    assert record["commit"] == git(node_repo, "rev-parse", "HEAD")
    assert record["build_system"] == "npm" and "make" in record["build_systems"]
    assert record["start_command"][:3] == ["npm", "run", "start"]
    assert (Path(record["local_path"]) / "server.js").exists()
    assert Path(record["local_path"]).parent == phoenix_home / "repos"
    assert record["build_status"] == "NotBuilt" and record["service_status"] == "Stopped"
    assert ecosystem("show", record["id"]) == record


def test_importing_again_updates_instead_of_making_a_twin(phoenix_home: Path, node_repo: Path) -> None:
    first = run_flow("import-and-build-repo", {"source": str(node_repo)})
    (node_repo / "README.md").write_text("new\n")
    git(node_repo, "add", ".")
    git(node_repo, "commit", "-q", "-m", "second")
    again = run_flow("import-and-build-repo", {"source": node_repo.resolve().as_uri()})
    assert again["id"] == first["id"]
    assert again["commit"] == git(node_repo, "rev-parse", "HEAD") != first["commit"]
    assert [r["id"] for r in ecosystem("list")["items"]] == [first["id"]]
    other_branch = run_flow("import-and-build-repo", {"source": str(node_repo), "branch": "dev"})
    assert other_branch["id"] != first["id"] and other_branch["branch"] == "dev"
    assert len(ecosystem("list")["items"]) == 2


@pytest.mark.parametrize(
    ("source", "branch", "error"),
    [
        ("file:///no/such/repository", None, NotFound),
        ("no/such/deep/path", None, BadInput),
        ("", None, BadInput),
        ("--upload-pack=touch /tmp/pwned", None, BadInput),
        ("ftp://example.com/x.git", None, BadInput),
    ],
)
def test_a_failed_import_says_why_and_leaves_nothing(
    phoenix_home: Path, source: str, branch: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        run_flow("import-and-build-repo", {"source": source, "branch": branch})
    assert ecosystem("list")["items"] == []
    repos = phoenix_home / "repos"
    assert not repos.exists() or list(repos.iterdir()) == []


def test_an_unknown_branch_is_a_clear_error(phoenix_home: Path, node_repo: Path) -> None:
    with pytest.raises(BadInput, match="no branch 'nope'"):
        run_flow("import-and-build-repo", {"source": str(node_repo), "branch": "nope"})
    assert ecosystem("list")["items"] == []
    assert list((phoenix_home / "repos").iterdir()) == []


def test_remove_deletes_the_clone_and_the_row(phoenix_home: Path, node_repo: Path) -> None:
    record = run_flow("import-and-build-repo", {"source": str(node_repo)})
    removed = ecosystem("remove", record["id"])
    assert removed["removed"] is True
    assert not Path(record["local_path"]).exists()
    assert node_repo.exists(), "the source is never touched"
    with pytest.raises(NotFound):
        ecosystem("show", record["id"])


def test_the_router_reaches_the_ecosystem(phoenix_home: Path, node_repo: Path) -> None:
    record = run_flow("import-and-build-repo", {"source": str(node_repo)})
    reply = run_flow("router", {"command": f"ecosystem {record['id']} status"})
    assert reply["type"] == "ecosystem" and reply["id"] == record["id"]
    assert "npm" in reply["message"]


def serve_bare(tmp_path: Path, node_repo: Path, credentials: tuple[str, str] | None = None):
    """`node_repo` served as acme/webapp.git over git's smart HTTP (private with `credentials`)."""
    from tests.git_http import GitHTTPServer

    root = tmp_path / "served"
    (root / "acme").mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(node_repo), str(root / "acme" / "webapp.git")],
                   check=True)  # fmt: skip
    return GitHTTPServer(root, credentials)


@pytest.fixture
def git_server(tmp_path: Path, node_repo: Path):
    require_tool("git")
    server = serve_bare(tmp_path, node_repo)
    yield server
    server.close()


PASSWORD = "s3cret-pass"  # noqa: S105 - a test's own credential


@pytest.fixture
def private_git_server(tmp_path: Path, node_repo: Path):
    """A forge that lets only alice (password PASSWORD) read acme/webapp.git."""
    require_tool("git")
    server = serve_bare(tmp_path, node_repo, credentials=("alice", PASSWORD))
    yield server
    server.close()


def test_import_over_a_git_http_url(phoenix_home: Path, git_server, node_repo: Path) -> None:
    record = run_flow("import-and-build-repo", {"source": f"{git_server.url}/acme/webapp.git"})
    assert (record["name"], record["owner"]) == ("webapp", "acme")
    assert record["commit"] == git(node_repo, "rev-parse", "HEAD")
    with pytest.raises(NotFound):
        run_flow("import-and-build-repo", {"source": f"{git_server.url}/acme/missing.git"})
    assert len(ecosystem("list")["items"]) == 1


def test_owner_repo_uses_the_forge_and_sends_the_token_as_a_header_only(
    phoenix_home: Path, tmp_path: Path, node_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.git import RepoAccessDenied

    require_tool("git")
    forge = serve_bare(tmp_path, node_repo, credentials=("x-access-token", "ghp_secret_token"))
    try:
        monkeypatch.setenv("GITHUB_API_URL", f"{forge.url}/api/v3")
        monkeypatch.setenv("GITHUB_PAT", "ghp_wrong_token")
        with pytest.raises(RepoAccessDenied):
            run_flow("import-and-build-repo", {"source": "acme/webapp"})
        monkeypatch.setenv("GITHUB_PAT", "ghp_secret_token")
        record = run_flow("import-and-build-repo", {"source": "acme/webapp"})
        # The forge's own URL gets the token too, as owner/repo does.
        again = run_flow("import-and-build-repo", {"source": f"{forge.url}/acme/webapp.git"})
    finally:
        forge.close()
    assert record["url"] == again["url"] == f"{forge.url}/acme/webapp.git"
    config = (Path(record["local_path"]) / ".git" / "config").read_text()
    assert "ghp_secret_token" not in config and "ghp_secret_token" not in json.dumps(record)


def _prefect_traces(flow_name: str) -> tuple[list[dict], str]:
    """The parameters of every run of `flow_name`, and all their state messages and logs as text."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id for run in runs]))
        )
    text = "\n".join([str(run.state.message if run.state else "") for run in runs]
                     + [log.message for log in logs])  # fmt: skip
    return [dict(run.parameters) for run in runs], text


@pytest.mark.parametrize(
    ("userinfo", "credentials"),
    [(f"alice:{PASSWORD}", ("alice", PASSWORD)), ("ghp_tok123", ("x-access-token", "ghp_tok123"))],
    ids=["user-and-password", "token-as-user"],
)
def test_a_credential_in_a_url_stays_out_of_prefect_and_still_authenticates(
    phoenix_home: Path, tmp_path: Path, node_repo: Path, userinfo: str,
    credentials: tuple[str, str],
) -> None:  # fmt: skip
    from tasks.git import RepoAccessDenied

    require_tool("git")
    secret = credentials[1]
    server = serve_bare(tmp_path, node_repo, credentials=credentials)
    try:
        clean = f"{server.url}/acme/webapp.git"
        with_credential = clean.replace("http://", f"http://{userinfo}@")
        record = run_flow("import-and-build-repo", {"source": with_credential})
        wrong = clean.replace("http://", "http://alice:wrong-pass@")
        with pytest.raises(RepoAccessDenied):
            run_flow("import-and-build-repo", {"source": wrong})
    finally:
        server.close()
    assert record["url"] == clean
    parameters, text = _prefect_traces("import-and-build-repo")
    parameters = [p for p in parameters if server.url.removeprefix("http://") in str(p.get("source"))]
    assert {"source": clean} in [{"source": p.get("source")} for p in parameters]
    for leaked in (secret, "wrong-pass"):
        assert leaked not in json.dumps(parameters) and leaked not in text
    config = (Path(record["local_path"]) / ".git" / "config").read_text()
    assert secret not in config and secret not in json.dumps(record)


def test_the_flow_strips_a_credential_that_reaches_it_anyway(
    phoenix_home: Path, private_git_server
) -> None:
    """As when someone types a URL with a password into the Prefect UI's run form."""
    from flows.ecosystem import import_and_build_repo

    clean = f"{private_git_server.url}/acme/webapp.git"
    record = import_and_build_repo(source=clean.replace("http://", f"http://alice:{PASSWORD}@"))
    assert record["url"] == clean
    assert any(a and a.startswith("Basic ") for a in private_git_server.authorizations)
    assert PASSWORD not in (Path(record["local_path"]) / ".git" / "config").read_text()


@pytest.mark.parametrize(
    "url",
    ["ssh://git@example.com/acme/webapp.git", "git@example.com:acme/webapp.git",
     "https://example.com/acme/webapp.git", "/srv/acme/webapp"],
)  # fmt: skip
def test_an_ssh_login_and_a_url_without_credentials_are_left_alone(url: str) -> None:
    assert split_credentials(url) == (url, None)
    parameters, _ = credentials_out_of_band("import-and-build-repo", {"source": url})
    assert parameters == {"source": url}
    assert resolve_source(url).token is None if "://" in url else True


def test_only_the_import_flow_has_its_source_cleaned() -> None:
    url = "https://tok@example.com/a/b.git"
    cleaned, handover = credentials_out_of_band("import-and-build-repo", {"source": url})
    assert cleaned == {"source": "https://example.com/a/b.git"}
    assert resolve_source(cleaned["source"]).token is None, "outside the hand-over: no token"
    with handover:
        assert resolve_source(cleaned["source"]).token.get_secret_value() == "tok"
    assert credentials_out_of_band("memory", {"source": url})[0] == {"source": url}
    assert split_credentials("ssh://git:pw@example.com/a.git") == ("ssh://git@example.com/a.git", None)


@pytest.mark.parametrize(
    ("source", "owner", "repo"),
    [("/etc", None, None), ("file:///etc", None, None), ("~/src/app", None, None),
     ("../app", None, None), ("ext::sh -c touch% /tmp/pwned", None, None),
     ("--upload-pack=touch /tmp/pwned", None, None), ("http://-oProxyCommand=x/a.git", None, None),
     (None, "/home/u", "p"), (None, "..", "p"), (None, "-u", "p"), (None, "u", ".."),
     (None, "u", None), ("", None, None)],
)  # fmt: skip
def test_a_remote_caller_may_not_import_local_folders(
    source: str | None, owner: str | None, repo: str | None
) -> None:
    with pytest.raises(BadInput):
        check_remote_import(source, owner, repo)


def test_a_remote_caller_gets_owner_repo_from_the_forge_never_a_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme" / "webapp").mkdir(parents=True)  # a folder that owner/repo would name
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9/api/v3")
    assert check_remote_import("acme/webapp") == "http://127.0.0.1:9/acme/webapp.git"
    assert check_remote_import(owner="acme", repo="webapp") == "http://127.0.0.1:9/acme/webapp.git"
    for url in ("https://h.example/a/b.git", "git@h.example:a/b.git", "ssh://git@h.example/a"):
        assert check_remote_import(url) == url
