"""The `phoenix-github` block, saved on the session's real Prefect server: it fills what the
environment leaves unset, the environment wins, and its token stays secret everywhere it is shown.
"""

from __future__ import annotations

import logging
import os
import uuid

import httpx
import pytest
from pydantic import SecretStr

from blocks.github import GitHubBlock, resolve_github_settings
from phoenix.github.settings import load_github_settings
from phoenix.settings import SettingsError

TOKEN = "ghp_block_secret_" + "7" * 20  # noqa: S105 - a test value, looked for where it must not be


@pytest.fixture
def saved_block(phoenix_home) -> str:  # noqa: ARG001 - a home of the test's own
    name = f"test-{uuid.uuid4().hex[:8]}"
    GitHubBlock(token=SecretStr(TOKEN), require_ci=True, merge_method="squash", base_branch="  ").save(
        name
    )
    return name


def test_the_block_fills_what_the_environment_leaves_unset(saved_block: str) -> None:
    settings = resolve_github_settings(saved_block, environ={})
    assert settings.require_ci is True and settings.merge_method == "squash"
    assert settings.token is not None and settings.token.get_secret_value() == TOKEN
    assert not settings.uses_local_forge
    assert settings.base_branch == "main"  # a blank field: not set here, the default
    assert settings.require_approval is True  # not in the block: the default

    blank = resolve_github_settings(saved_block, environ={"MANDATE_GITHUB_CI": "   "})
    assert blank.require_ci is True  # a blank variable is unset too


def test_the_environment_wins_over_the_block(saved_block: str) -> None:
    environ = {"MANDATE_GITHUB_CI": "false", "GITHUB_PAT": "ghp_from_environment"}
    settings = resolve_github_settings(saved_block, environ=environ)
    assert settings.require_ci is False
    assert settings.token is not None
    assert settings.token.get_secret_value() == "ghp_from_environment"
    assert settings.merge_method == "squash"  # still the block's: the environment does not set it


def test_the_process_environment_is_read_by_default(
    saved_block: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MANDATE_GITHUB_CI", raising=False)
    assert resolve_github_settings(saved_block).require_ci is True
    monkeypatch.setenv("MANDATE_GITHUB_CI", "no")
    assert resolve_github_settings(saved_block).require_ci is False


def test_no_saved_block_means_the_environment_alone(phoenix_home) -> None:  # noqa: ARG001
    environ = {"MANDATE_GITHUB_CI": "yes"}
    assert resolve_github_settings("no-such-block", environ) == load_github_settings(environ)
    assert resolve_github_settings("no-such-block", {}).require_ci is False


def test_a_bad_variable_still_names_itself(saved_block: str) -> None:
    with pytest.raises(SettingsError, match="MANDATE_GITHUB_CI: expected true or false"):
        resolve_github_settings(saved_block, environ={"MANDATE_GITHUB_CI": "maybe"})


def test_the_token_is_never_shown(saved_block: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        block = GitHubBlock.load(saved_block)
        settings = resolve_github_settings(saved_block, environ={})
    assert block.token is not None and block.token.get_secret_value() == TOKEN
    for shown in (repr(block), str(block), repr(settings), str(settings), caplog.text):
        assert TOKEN not in shown
    assert TOKEN not in block.model_dump_json() and TOKEN not in str(block.model_dump())

    # What the Prefect UI reads: the block document's data, secrets obfuscated.
    api = os.environ["PREFECT_API_URL"]
    reply = httpx.post(
        f"{api}/block_documents/filter",
        json={"block_documents": {"name": {"any_": [saved_block]}}},
        timeout=30,
    )
    reply.raise_for_status()
    [document] = reply.json()
    assert TOKEN not in reply.text
    assert document["data"]["token"] != TOKEN and document["data"]["require_ci"] is True
