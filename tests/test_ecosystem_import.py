"""Importing repositories: real git repositories made by the test, cloned over file://."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from flows import run_flow
from phoenix.errors import BadInput, NotFound

CONTRACT_FIELDS = {
    "id", "name", "owner", "url", "local_path", "branch", "commit", "build_system",
    "build_systems", "commands", "start_command", "build_status", "service_status", "pid",
    "port", "exit_code", "created_at", "last_built",
}  # fmt: skip


def git(folder: Path, *arguments: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *arguments], capture_output=True, text=True, check=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
             "PATH": "/usr/bin:/bin", "HOME": str(folder)},
    )  # fmt: skip
    return done.stdout.strip()


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
    record = run_flow("import-and-build-repo", {"source": str(node_repo)})
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


@pytest.fixture
def git_server(tmp_path: Path, node_repo: Path):
    from tests.git_http import GitHTTPServer

    root = tmp_path / "served"
    (root / "acme").mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(node_repo), str(root / "acme" / "webapp.git")],
                   check=True)  # fmt: skip
    server = GitHTTPServer(root)
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
    phoenix_home: Path, git_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", f"{git_server.url}/api/v3")
    monkeypatch.setenv("GITHUB_PAT", "ghp_secret_token")
    record = run_flow("import-and-build-repo", {"source": "acme/webapp"})
    assert record["url"] == f"{git_server.url}/acme/webapp.git"
    assert any(a and a.startswith("Basic ") for a in git_server.authorizations)
    config = (Path(record["local_path"]) / ".git" / "config").read_text()
    assert "ghp_secret_token" not in config and "ghp_secret_token" not in json.dumps(record)
