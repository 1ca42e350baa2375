"""Publishing through PyGithub and GitPython against the local forge, over real HTTP and git:
idempotent repository, push and pull request; the gate's facts read back from the forge."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from phoenix.github.client import connect, ensure_pull, ensure_repository, pull_facts, push_folder
from phoenix.github.gate import evaluate
from phoenix.settings import load_settings
from tests.conftest import require_tool


@pytest.fixture
def forge(phoenix_home: Path) -> Iterator[dict[str, str]]:
    require_tool("git")
    from phoenix.forge.server import api_url, ensure_forge, issue_token, stop_forge

    settings = load_settings()
    url = ensure_forge(settings, announce=False)
    try:
        yield {
            "api": api_url(url),
            "bot": issue_token(settings, "phoenix-bot")["token"],
            "alice": issue_token(settings, "alice")["token"],
        }
    finally:
        stop_forge(settings)


def test_publish_is_idempotent_and_the_gate_reads_the_forge(
    forge: dict[str, str], tmp_path: Path
) -> None:
    bot = connect(forge["api"], SecretStr(forge["bot"]))
    repo = ensure_repository(bot, None, "weather-bot", private=False, description="says the weather")
    again = ensure_repository(bot, None, "weather-bot", private=False, description="says the weather")
    assert again.full_name == repo.full_name == "phoenix-bot/weather-bot"

    folder = tmp_path / "weather-bot"
    folder.mkdir()
    (folder / "README.md").write_text("# weather-bot\n")
    token = SecretStr(forge["bot"])
    push_folder(folder, repo.clone_url, "main", token, "Scaffold")
    (folder / "src.rs").write_text("pub async fn run() {}\n")
    head = push_folder(folder, repo.clone_url, "evolve/spawn-1", token, "Agent code", replace=True)
    assert push_folder(folder, repo.clone_url, "evolve/spawn-1", token, "same", replace=True) == head
    assert forge["bot"] not in (folder / ".git" / "config").read_text()

    pull = ensure_pull(repo, "evolve/spawn-1", "main", "Spawn agent: weather-bot", "report")
    assert (
        ensure_pull(repo, "evolve/spawn-1", "main", "Spawn agent: weather-bot", "report 2").number
        == pull.number
    )

    facts = pull_facts(repo, pull.number)
    assert (facts.author, facts.head_sha) == ("phoenix-bot", head)
    assert evaluate(facts, require_ci=True, require_approval=True).verdict == "awaiting_ci"

    repo.get_commit(head).create_status("success", context="ci/tests")
    pull.create_review(event="APPROVE")  # the author's own: does not count
    decision = evaluate(pull_facts(repo, pull.number), True, True)
    assert decision.verdict == "awaiting_approval" and decision.ci == "success"

    alice = connect(forge["api"], SecretStr(forge["alice"]))
    alice.get_repo("phoenix-bot/weather-bot").get_pull(pull.number).create_review(event="APPROVE")
    decision = evaluate(pull_facts(repo, pull.number), True, True)
    assert decision.verdict == "merge" and decision.approvals == ["alice"]

    listing = subprocess.run(["git", "ls-remote", repo.clone_url], capture_output=True, text=True)
    assert head in listing.stdout  # a public repository lists without credentials
