"""The local forge over real HTTP with PyGithub: accounts, tokens, repositories, pulls, CI, merges."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github
from github.GithubException import BadCredentialsException, GithubException, UnknownObjectException

from phoenix.forge import server
from phoenix.settings import PhoenixSettings, load_settings
from tests.conftest import require_tool


def client(url: str, token: str | None) -> Github:
    return Github(
        auth=Auth.Token(token) if token else None,
        base_url=server.api_url(url),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def git_auth_env(token: str | None) -> dict[str, str]:
    """git's environment: no user configuration, the token (if any) as an HTTP header."""
    environment = {
        "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    }  # fmt: skip
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        environment |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return environment


def run_git(folder: Path, *arguments: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(folder), *arguments],
        capture_output=True,
        text=True,
        env=git_auth_env(token),
        timeout=120,  # a hung push fails the test instead of the session
    )


def commit_files(folder: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    assert run_git(folder, "add", ".").returncode == 0
    assert run_git(folder, "commit", "-q", "-m", message).returncode == 0


class ForgeHome:
    def __init__(self, settings: PhoenixSettings, url: str, tokens: dict[str, str]) -> None:
        self.settings = settings
        self.url = url
        self.tokens = tokens

    def github(self, user: str | None) -> Github:
        return client(self.url, self.tokens[user] if user else None)

    def clone_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}.git"


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForgeHome]:
    """A forge of its own home, with alice (member of org acme), bob (reviewer) and eve."""
    require_tool("git")
    home = tmp_path_factory.mktemp("forge-home")
    settings = load_settings({"PHOENIX_HOME": str(home)})
    tokens = {"alice": server.issue_token(settings, "alice", "acme")["token"]}
    url = server.ensure_forge(settings, announce=False)
    for name in ("bob", "eve"):
        tokens[name] = server.issue_token(settings, name)["token"]
    try:
        yield ForgeHome(settings, url, tokens)
    finally:
        server.stop_forge(settings)


def push_branch(forge: ForgeHome, work: Path, full_name: str, branch: str, files: dict[str, str]) -> str:
    """Commit `files` on `branch` of a clone in `work` and push it as alice; the new head."""
    if not work.exists():
        done = run_git(
            work.parent,
            "clone",
            "-q",
            forge.clone_url(full_name),
            work.name,
            token=forge.tokens["alice"],
        )
        assert done.returncode == 0, done.stderr
    assert run_git(work, "checkout", "-q", "-B", branch).returncode == 0
    commit_files(work, files, f"add {', '.join(files)}")
    done = run_git(
        work, "push", "-q", "origin", f"HEAD:refs/heads/{branch}", token=forge.tokens["alice"]
    )
    assert done.returncode == 0, done.stderr
    return run_git(work, "rev-parse", "HEAD").stdout.strip()


def test_pygithub_logs_in_with_a_token_and_a_bad_token_is_401(forge: ForgeHome) -> None:
    assert forge.github("alice").get_user().login == "alice"
    with pytest.raises(BadCredentialsException):
        _ = client(forge.url, "phx_not-a-token").get_user().login
    with pytest.raises(GithubException) as anonymous:
        _ = forge.github(None).get_user().login
    assert anonymous.value.status == 401


def test_private_repositories_are_hidden_from_others_and_anonymous(forge: ForgeHome) -> None:
    alice = forge.github("alice")
    public = alice.get_user().create_repo("open-one", private=False, auto_init=True)
    secret = alice.get_organization("acme").create_repo("hidden-one", private=True)
    assert (public.private, secret.private, secret.full_name) == (False, True, "acme/hidden-one")
    assert forge.github(None).get_repo("alice/open-one").default_branch == "main"
    assert alice.get_repo("acme/hidden-one").private
    for other in (forge.github("eve"), forge.github(None)):
        with pytest.raises(UnknownObjectException):
            other.get_repo("acme/hidden-one")
    with pytest.raises(GithubException) as taken:
        alice.get_user().create_repo("open-one")
    assert taken.value.status == 422
    with pytest.raises(GithubException) as outsider:
        forge.github("eve").get_organization("acme").create_repo("nope")
    assert outsider.value.status == 403


def test_pull_request_ci_reviews_and_merge(forge: ForgeHome, tmp_path: Path) -> None:
    alice, bob = forge.github("alice"), forge.github("bob")
    repo = alice.get_organization("acme").create_repo("agent-x", private=True, auto_init=True)
    work = tmp_path / "agent-x"
    head = push_branch(forge, work, "acme/agent-x", "evolve/spawn-1", {"src/main.rs": "fn main() {}\n"})
    assert repo.get_branch("evolve/spawn-1").commit.sha == head
    pull = repo.create_pull(base="main", head="evolve/spawn-1", title="Spawn agent: x", body="report")
    assert (pull.number, pull.head.sha, pull.mergeable, pull.user.login) == (1, head, True, "alice")
    assert [p.number for p in repo.get_pulls(state="open")] == [1]

    commit = repo.get_commit(head)
    assert commit.get_combined_status().state == "pending"  # nothing reported yet, as on GitHub
    commit.create_status("pending", description="running", context="phoenix/ci")
    commit.create_status("success", description="cargo test passed", context="phoenix/ci")
    commit.create_status("failure", context="lint")
    combined = commit.get_combined_status()
    assert (combined.state, combined.total_count) == ("failure", 2)
    commit.create_status("success", context="lint")
    combined = commit.get_combined_status()
    assert combined.state == "success"
    assert {s.context: s.state for s in combined.statuses} == {
        "phoenix/ci": "success",
        "lint": "success",
    }
    repo.create_check_run(name="tests", head_sha=head, status="completed", conclusion="success",
                          output={"title": "ok", "summary": "all passed"})  # fmt: skip
    runs = list(commit.get_check_runs())
    assert [(r.name, r.status, r.conclusion) for r in runs] == [("tests", "completed", "success")]
    assert commit.get_check_runs().totalCount == 1

    with pytest.raises(UnknownObjectException):  # bob cannot even see the private repository
        bob.get_repo("acme/agent-x")
    pull.create_review(event="APPROVE", body="self-approval")
    reviews = [(r.user.login, r.state) for r in repo.get_pull(1).get_reviews()]
    assert reviews == [("alice", "APPROVED")]  # present, and recognisably the author's own

    with pytest.raises(GithubException) as stale:
        pull.merge(merge_method="merge", sha="0" * 40)
    assert stale.value.status == 409
    merged = pull.merge(merge_method="merge", sha=head)
    assert merged.merged
    main = repo.get_branch("main").commit
    assert main.sha == merged.sha and [p.sha for p in main.parents][1] == head
    assert repo.get_pull(1).merged and repo.get_pull(1).state == "closed"
    with pytest.raises(GithubException) as again:
        pull.merge()
    assert again.value.status == 405
    assert run_git(work, "pull", "-q", "origin", "main", token=forge.tokens["alice"]).returncode == 0


def test_squash_merge_and_conflicts(forge: ForgeHome, tmp_path: Path) -> None:
    alice = forge.github("alice")
    repo = alice.get_user().create_repo("squashed", auto_init=True)
    work = tmp_path / "squashed"
    push_branch(forge, work, "alice/squashed", "feature", {"a.txt": "a\n"})
    head = push_branch(forge, work, "alice/squashed", "feature", {"b.txt": "b\n"})
    pull = repo.create_pull(base="main", head="alice:feature", title="Two files", body="")
    result = pull.merge(merge_method="squash")
    squash = repo.get_commit(result.sha)
    assert [p.sha for p in squash.parents] != [head] and len(squash.parents) == 1
    assert squash.commit.message.startswith("Two files (#1)")
    clone = tmp_path / "check"
    assert run_git(tmp_path, "clone", "-q", forge.clone_url("alice/squashed"), "check").returncode == 0
    assert (clone / "a.txt").read_text() == "a\n" and (clone / "b.txt").read_text() == "b\n"

    run_git(work, "checkout", "-q", "main")
    run_git(work, "pull", "-q", "origin", "main", token=forge.tokens["alice"])
    push_branch(forge, work, "alice/squashed", "left", {"a.txt": "left\n"})
    run_git(work, "checkout", "-q", "main")
    push_branch(forge, work, "alice/squashed", "right", {"a.txt": "right\n"})
    left = repo.create_pull(base="main", head="left", title="left", body="")
    right = repo.create_pull(base="main", head="right", title="right", body="")
    left.merge()
    assert repo.get_pull(right.number).mergeable is False
    with pytest.raises(GithubException) as conflict:
        right.merge()
    assert conflict.value.status == 405
    with pytest.raises(GithubException) as none:
        repo.create_pull(base="main", head="left", title="again", body="")
    assert none.value.status == 422


def test_state_persists_across_a_restart_and_tokens_work_with_the_server_stopped(
    forge: ForgeHome,
) -> None:
    alice = forge.github("alice")
    alice.get_user().create_repo("kept", private=True, auto_init=True)
    server.stop_forge(forge.settings)
    assert server.running_forge(forge.settings) is None
    issued = server.issue_token(forge.settings, "carol")  # written directly: no forge runs
    forge.url = server.ensure_forge(forge.settings, announce=False)
    assert forge.github("alice").get_repo("alice/kept").private
    assert client(forge.url, issued["token"]).get_user().login == "carol"
    stored = (forge.settings.home / "forge" / "forge.duckdb").read_bytes()
    assert issued["token"].encode() not in stored and forge.tokens["alice"].encode() not in stored


def test_the_request_log_holds_no_token(forge: ForgeHome, tmp_path: Path) -> None:
    forge.github("alice").get_user().create_repo("logged", auto_init=True)
    assert (
        run_git(
            tmp_path, "clone", "-q", forge.clone_url("alice/logged"), "c", token=forge.tokens["alice"]
        ).returncode
        == 0
    )
    log = (forge.settings.home / "forge" / "forge.log").read_text()
    assert "GET /api/v3/user" in log and "user=alice" in log
    for token in forge.tokens.values():
        assert token not in log
    assert "phx_" not in log and "Basic" not in log


def test_the_token_command_goes_through_a_running_forge(forge: ForgeHome) -> None:
    issued: dict[str, Any] = server.issue_token(forge.settings, "dave", "acme")
    assert client(forge.url, issued["token"]).get_organization("acme").login == "acme"
    assert client(forge.url, issued["token"]).get_user().login == "dave"


def test_forge_token_command_prints_the_token_once_and_stores_its_hash(tmp_path: Path) -> None:
    from tests.conftest import PHOENIX

    home = tmp_path / "home"
    done = subprocess.run(
        [PHOENIX, "--json", "forge", "token", "zed"], capture_output=True, text=True,
        env={**os.environ, "PHOENIX_HOME": str(home)}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    assert issued["user"] == "zed" and issued["token"].startswith("phx_")
    stored = (home / "forge" / "forge.duckdb").read_bytes()
    assert issued["token"].encode() not in stored
    assert hashlib.sha256(issued["token"].encode()).hexdigest().encode() in stored


def test_a_name_the_forge_cannot_take_is_a_usage_error(tmp_path: Path) -> None:
    from tests.conftest import PHOENIX

    done = subprocess.run(
        [PHOENIX, "forge", "token", "bad name!"], capture_output=True, text=True,
        env={**os.environ, "PHOENIX_HOME": str(tmp_path / "home")}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: The forge cannot issue that token: invalid account name"


def test_repository_listings_show_what_each_account_may_see(forge: ForgeHome) -> None:
    forge.tokens["carol"] = server.issue_token(forge.settings, "carol", "acme")["token"]
    alice = forge.github("alice")
    alice.get_user().create_repo("listed-mine", auto_init=True)
    alice.get_organization("acme").create_repo("listed-secret", private=True)
    alice.get_organization("acme").create_repo("listed-open")

    def mine(user: str, **options: str) -> list[str]:
        return [r.full_name for r in forge.github(user).get_user().get_repos(**options)]

    def of_acme(github: Github) -> list[str]:
        return [r.full_name for r in github.get_organization("acme").get_repos()]

    listed = mine("alice")
    assert {"alice/listed-mine", "acme/listed-secret", "acme/listed-open"} <= set(listed)
    assert listed == sorted(listed, key=str.lower)  # GitHub's default order: full_name
    carol = mine("carol")  # a member of acme, owning nothing
    assert "acme/listed-secret" in carol and not [n for n in carol if not n.startswith("acme/")]
    assert not [n for n in mine("eve") if n.startswith("acme/")]
    assert "acme/listed-secret" in mine("alice", visibility="private")
    assert "alice/listed-mine" not in mine("alice", visibility="private")
    assert mine("alice", affiliation="owner") == [n for n in listed if n.startswith("alice/")]

    assert "acme/listed-secret" in of_acme(forge.github("carol"))
    for outsider in (forge.github("eve"), forge.github(None)):
        shown = of_acme(outsider)
        assert "acme/listed-open" in shown and "acme/listed-secret" not in shown
    # A page at a time, following GitHub's Link header, lists the same.
    paged = Github(auth=Auth.Token(forge.tokens["alice"]), base_url=server.api_url(forge.url),
                   per_page=2, retry=None, seconds_between_requests=0)  # fmt: skip
    assert [r.full_name for r in paged.get_user().get_repos()] == listed
    assert paged.get_user().get_repos().totalCount == len(listed) > 2


def test_pulls_are_listed_by_state_with_their_times(forge: ForgeHome, tmp_path: Path) -> None:
    repo = forge.github("alice").get_user().create_repo("pulled", auto_init=True)
    work = tmp_path / "pulled"
    head = push_branch(forge, work, "alice/pulled", "one", {"one.txt": "1\n"})
    push_branch(forge, work, "alice/pulled", "two", {"two.txt": "2\n"})
    first = repo.create_pull(base="main", head="one", title="one", body="")
    repo.create_pull(base="main", head="two", title="two", body="")
    first.merge()

    def numbers(state: str) -> list[int]:
        return [p.number for p in repo.get_pulls(state=state)]

    assert (numbers("open"), numbers("closed"), numbers("all")) == ([2], [1], [2, 1])
    [merged] = repo.get_pulls(state="closed")
    assert merged.merged and merged.merged_at is not None and merged.created_at is not None
    assert merged.created_at <= merged.merged_at
    assert (merged.user.login, merged.head.ref, merged.head.sha, merged.base.ref) == (
        "alice", "one", head, "main",
    )  # fmt: skip
    [waiting] = repo.get_pulls(state="open")
    assert (waiting.merged, waiting.merged_at, waiting.mergeable) == (False, None, True)
    with pytest.raises(GithubException) as bad:
        list(repo.get_pulls(state="merged"))
    assert bad.value.status == 422
