"""The forge's CI runner over real HTTP, git and cargo: a push through the forge is tested as GitHub
Actions would test it, and the result is a `phoenix-ci` commit status that PyGithub reads."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from github import Auth, Github

from phoenix.forge import server
from phoenix.settings import PhoenixSettings, load_settings
from tests.conftest import require_tool, wait_for

CI_TIMEOUT_S = 240.0  # a dependency-free crate builds in seconds; a cold, busy machine is slower
MANIFEST = '[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
PASSING = "fn main() {}\n\n#[test]\nfn adds() {\n    assert_eq!(2 + 2, 4);\n}\n"
FAILING = 'fn main() {}\n\n#[test]\nfn adds() {\n    assert_eq!(2 + 2, 5, "arithmetic is broken");\n}\n'


class Forge:
    def __init__(self, settings: PhoenixSettings, url: str, tokens: dict[str, str]) -> None:
        self.settings = settings
        self.url = url
        self.tokens = tokens

    def github(self, user: str) -> Github:
        return Github(
            auth=Auth.Token(self.tokens[user]), base_url=server.api_url(self.url), retry=None,
            seconds_between_requests=0, seconds_between_writes=0,
        )  # fmt: skip

    def push(self, folder: Path, full_name: str, files: dict[str, str], branch: str = "main") -> str:
        """Commit `files` in `folder` with GitPython and push them as alice; the pushed commit."""
        from git import Actor, Repo

        exists = (folder / ".git").exists()
        repo = Repo(folder) if exists else Repo.init(folder, mkdir=True, initial_branch=branch)
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        repo.git.add(A=True)
        author = Actor("t", "t@example.com")
        repo.index.commit(f"add {', '.join(files)}", author=author, committer=author)
        basic = base64.b64encode(f"x-access-token:{self.tokens['alice']}".encode()).decode()
        environment = {
            "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }  # fmt: skip
        with repo.git.custom_environment(**environment):
            repo.git.push(f"{self.url}/{full_name}.git", f"HEAD:refs/heads/{branch}")
        return repo.head.commit.hexsha


def start_forge(home: Path) -> Forge:
    settings = load_settings({"PHOENIX_HOME": str(home)})
    tokens = {name: server.issue_token(settings, name, "acme")["token"] for name in ("alice", "bob")}
    tokens["eve"] = server.issue_token(settings, "eve")["token"]
    return Forge(settings, server.ensure_forge(settings, announce=False), tokens)


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forge]:
    """A forge with CI, alice and bob (members of acme) and eve (not a member)."""
    require_tool("git", "cargo")
    started = start_forge(tmp_path_factory.mktemp("forge-ci-home"))
    try:
        yield started
    finally:
        server.stop_forge(started.settings)


def crate(name: str, test: str) -> dict[str, str]:
    return {"Cargo.toml": MANIFEST.format(name=name), "src/main.rs": test}


def phoenix_ci(forge: Forge, full_name: str, sha: str, user: str = "alice") -> list[tuple[str, str]]:
    """The (state, description) of each `phoenix-ci` status of `sha`, as PyGithub reads them."""
    combined = forge.github(user).get_repo(full_name).get_commit(sha).get_combined_status()
    return [(s.state, s.description) for s in combined.statuses if s.context == "phoenix-ci"]


def finished(forge: Forge, full_name: str, sha: str) -> str | None:
    statuses = phoenix_ci(forge, full_name, sha)
    return statuses[0][0] if statuses and statuses[0][0] != "pending" else None


def test_a_passing_crate_is_pending_then_success(forge: Forge, tmp_path: Path) -> None:
    forge.github("alice").get_user().create_repo("good-crate")
    started = time.monotonic()
    sha = forge.push(tmp_path / "good", "alice/good-crate", crate("good_crate", PASSING))
    # Queued while the push was answered: pending at once, pointing at the run's log page.
    assert [state for state, _ in phoenix_ci(forge, "alice/good-crate", sha)] == ["pending"]
    assert wait_for(lambda: finished(forge, "alice/good-crate", sha), CI_TIMEOUT_S) == "success"
    print(f"CI of a passing crate: {time.monotonic() - started:.1f} s")
    commit = forge.github("alice").get_repo("alice/good-crate").get_commit(sha)
    combined = commit.get_combined_status()
    assert (combined.state, combined.total_count) == ("success", 1)
    status = combined.statuses[0]
    assert "passed" in status.description and "exit 0" in status.description
    assert status.target_url == f"{forge.url}/alice/good-crate/ci/{sha}"
    assert status.creator.login == "phoenix-ci[bot]"
    assert forge.github("alice").get_user("phoenix-ci[bot]").type == "Bot"  # as github-actions[bot]
    log = httpx.get(status.target_url, timeout=10)  # a public repository: anyone reads its CI log
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain")
    assert "test adds ... ok" in log.text and "state: success" in log.text


def test_a_failing_crate_fails_and_its_log_shows_the_failing_test(forge: Forge, tmp_path: Path) -> None:
    forge.github("alice").get_organization("acme").create_repo("bad-crate", private=True)
    sha = forge.push(tmp_path / "bad", "acme/bad-crate", crate("bad_crate", FAILING))
    assert wait_for(lambda: finished(forge, "acme/bad-crate", sha), CI_TIMEOUT_S) == "failure"
    [(_, description)] = phoenix_ci(forge, "acme/bad-crate", sha, user="bob")
    assert "failed" in description and "exit 101" in description
    url = f"{forge.url}/acme/bad-crate/ci/{sha}"
    log = httpx.get(url, headers={"Authorization": f"token {forge.tokens['bob']}"}, timeout=10)
    assert log.status_code == 200
    assert "arithmetic is broken" in log.text and "test adds ... FAILED" in log.text
    # A private repository's log: as hidden as the repository itself.
    assert httpx.get(url, timeout=10).status_code == 404
    eve = {"Authorization": f"token {forge.tokens['eve']}"}
    assert httpx.get(url, headers=eve, timeout=10).status_code == 404


def test_a_repository_without_cargo_toml_gets_no_status(forge: Forge, tmp_path: Path) -> None:
    forge.github("alice").get_user().create_repo("docs-only")
    sha = forge.push(tmp_path / "docs", "alice/docs-only", {"README.md": "# docs\n", "main.rs": "x"})
    # The decision is taken while the push is answered, so there is nothing to wait for.
    combined = forge.github("alice").get_repo("alice/docs-only").get_commit(sha).get_combined_status()
    assert (combined.state, combined.total_count) == ("pending", 0)  # GitHub's answer for "none"
    assert httpx.get(f"{forge.url}/alice/docs-only/ci/{sha}", timeout=10).status_code == 404


def held(marker: Path) -> str:
    """A test that runs while `marker` exists (so the test decides when the build ends)."""
    path = json.dumps(str(marker))  # a Rust string literal too
    return (
        "fn main() {}\n\n#[test]\nfn waits() {\n"
        f"    while std::path::Path::new({path}).exists() {{\n"
        "        std::thread::sleep(std::time::Duration::from_millis(50));\n    }\n}\n"
    )


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_newer_push_replaces_a_queued_run_and_a_stop_kills_the_running_one(
    forge: Forge, tmp_path: Path
) -> None:
    forge.github("alice").get_user().create_repo("busy")
    folder = tmp_path / "busy"
    marker = tmp_path / "hold"
    marker.touch()
    slow = forge.push(folder, "alice/busy", crate("busy", held(marker)), branch="slow")
    wait_for(lambda: phoenix_ci(forge, "alice/busy", slow)[0][1] == "cargo test running", 60)
    first = forge.push(folder, "alice/busy", {"src/main.rs": PASSING}, branch="next")
    second = forge.push(folder, "alice/busy", {"README.md": "# busy\n"}, branch="next")
    [(state, description), *_] = phoenix_ci(forge, "alice/busy", first)
    assert state == "error" and description.startswith("cancelled: a newer push to next")
    assert phoenix_ci(forge, "alice/busy", second)[0][0] == "pending"

    record = server.running_forge(forge.settings)
    assert record is not None
    forge_process = psutil.Process(record.pid)
    builds = wait_for(  # cargo runs in a session of its own, outside the forge's process group
        lambda: [p for p in forge_process.children() if os.getsid(p.pid) == p.pid], CI_TIMEOUT_S
    )
    stopping = time.monotonic()
    server.stop_forge(forge.settings)  # must not wait for the build
    assert time.monotonic() - stopping < 8
    wait_for(lambda: not any(alive(p) for p in builds), 10)

    # The next forge of this home runs the interrupted run and the queued one again.
    marker.unlink()
    forge.url = server.ensure_forge(forge.settings, announce=False)
    assert wait_for(lambda: finished(forge, "alice/busy", slow), CI_TIMEOUT_S) == "success"
    assert wait_for(lambda: finished(forge, "alice/busy", second), CI_TIMEOUT_S) == "success"


def test_ci_off_posts_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("git", "cargo")
    monkeypatch.setenv("PHOENIX_FORGE_CI", "off")
    forge = start_forge(tmp_path / "home")
    try:
        forge.github("alice").get_user().create_repo("quiet")
        sha = forge.push(tmp_path / "quiet", "alice/quiet", crate("quiet", PASSING))
        commit = forge.github("alice").get_repo("alice/quiet").get_commit(sha)
        assert commit.get_combined_status().total_count == 0
    finally:
        server.stop_forge(forge.settings)


def test_the_bot_and_the_reviewer_list_the_organisations_private_repositories(
    phoenix_home: Path,
) -> None:
    require_tool("git")
    from phoenix.github.access import LOCAL_ORG, local_forge_access
    from phoenix.github.client import connect

    settings = load_settings()
    access = local_forge_access(settings)
    try:
        assert access.reviewer is not None
        bot = connect(access.api_url, access.token)
        reviewer = connect(access.api_url, access.reviewer.token)
        bot.get_organization(LOCAL_ORG).create_repo("agent-a", private=True)
        wanted = f"{LOCAL_ORG}/agent-a"
        for who in (bot, reviewer):
            assert wanted in [r.full_name for r in who.get_user().get_repos()]
            assert [r.full_name for r in who.get_organization(LOCAL_ORG).get_repos()] == [wanted]
        outsider = Github(base_url=access.api_url, retry=None)  # anonymous: public ones only
        assert list(outsider.get_organization(LOCAL_ORG).get_repos()) == []
    finally:
        server.stop_forge(settings)
