"""The original system's forge and pull-request variables: defaults, parsing, clear errors."""

from __future__ import annotations

import pytest

from phoenix.github.settings import VARIABLES, load_github_settings
from phoenix.settings import SettingsError


def test_defaults_are_the_original_systems() -> None:
    settings = load_github_settings({})
    assert settings.uses_local_forge
    assert (settings.require_approval, settings.require_ci, settings.testing_mandatory) == (
        True, False, True,
    )  # fmt: skip
    assert (settings.base_branch, settings.merge_method, settings.spawn_repairs) == ("main", "merge", 2)
    assert not settings.caos_free_tier and not settings.x402_enabled


def test_values_are_parsed_and_the_token_stays_secret() -> None:
    settings = load_github_settings({
        "GITHUB_PAT": "ghp_secret", "REQUIRE_HUMAN_PR_APPROVAL": "no", "MANDATE_GITHUB_CI": "TRUE",
        "BASE_BRANCH": "trunk", "PR_APPROVAL_TIMEOUT_HOURS": "0.5", "PHOENIX_MERGE_METHOD": "squash",
        "TESTING_MANDATORY": " ", "GITHUB_API_URL": "https://ghe.example/api/v3",
    })  # fmt: skip
    assert not settings.uses_local_forge and "ghp_secret" not in repr(settings)
    assert settings.require_approval is False and settings.require_ci is True
    assert settings.testing_mandatory is True  # blank: unset, the default
    assert (settings.base_branch, settings.approval_timeout_hours) == ("trunk", 0.5)
    assert settings.merge_method == "squash"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MANDATE_GITHUB_CI", "maybe", "MANDATE_GITHUB_CI: expected true or false, not 'maybe'"),
        ("PHOENIX_MERGE_METHOD", "octopus", "PHOENIX_MERGE_METHOD: Input should be 'merge'"),
        ("PR_APPROVAL_TIMEOUT_HOURS", "-1", "PR_APPROVAL_TIMEOUT_HOURS: Input should be greater"),
        ("PHOENIX_SPAWN_REPAIRS", "99", "PHOENIX_SPAWN_REPAIRS: Input should be less"),
    ],
)
def test_a_value_phoenix_cannot_use_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match="Invalid setting: " + message):
        load_github_settings({name: value})
    assert name in VARIABLES
