"""How Phoenix talks to a forge and what its pull requests must pass: the original system's variables.

`GITHUB_PAT` set: GitHub (or `GITHUB_API_URL`, e.g. GitHub Enterprise's `https://host/api/v3`).
Unset: Phoenix's local forge under PHOENIX_HOME.  The names keep the original system's meaning, so
they are read as they are (not `PHOENIX_*`); the `phoenix-github` block (blocks/github.py) can hold
the same fields for deployments, and the environment wins over it.

`CAOS_FREE_TIER` and `X402_ENABLED` name external paid services of the original system: they are
kept and shown, and do nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from phoenix.settings import SettingsError, strict_boolean, validate_environment

MergeMethod = Literal["merge", "squash", "rebase"]

VARIABLES: dict[str, str] = {
    "GITHUB_PAT": "token",
    "GITHUB_USERNAME": "username",
    "GITHUB_API_URL": "api_url",
    "REQUIRE_HUMAN_PR_APPROVAL": "require_approval",
    "MANDATE_GITHUB_CI": "require_ci",
    "TESTING_MANDATORY": "testing_mandatory",
    "BASE_BRANCH": "base_branch",
    "PR_APPROVAL_TIMEOUT_HOURS": "approval_timeout_hours",
    "PHOENIX_MERGE_METHOD": "merge_method",
    "PHOENIX_SPAWN_REPAIRS": "spawn_repairs",
    "PHOENIX_USER_AGENT": "user_agent",
    "CAOS_FREE_TIER": "caos_free_tier",
    "X402_ENABLED": "x402_enabled",
}
"""Environment variable → field: the public names (docs/design.md, "Environment")."""


class GitHubSettings(BaseModel):
    """The forge, its credentials, and the rules a spawned agent's pull request must pass."""

    token: SecretStr | None = Field(default=None, description="A GitHub token; none: the local forge.")
    username: str | None = Field(default=None, description="The account that owns new repositories.")
    api_url: str | None = Field(default=None, description="The REST API (GitHub Enterprise, a forge).")
    require_approval: bool = Field(default=True, description="A human (not the author) must approve.")
    require_ci: bool = Field(default=False, description="Every status and check run must pass.")
    testing_mandatory: bool = Field(default=True, description="Publish nothing whose tests fail.")
    base_branch: str = Field(default="main", min_length=1, description="The branch PRs merge into.")
    approval_timeout_hours: float = Field(
        default=72.0, gt=0, description="How long a PR may wait for CI and approval."
    )
    merge_method: MergeMethod = Field(default="merge", description="merge, squash or rebase.")
    spawn_repairs: int = Field(
        default=2, ge=0, le=10, description="Times the LLM may repair code that fails its tests."
    )
    user_agent: str = Field(default="phoenix-orchestrator", description="User-Agent to the forge.")
    caos_free_tier: bool = Field(default=False, description="Kept from the original; no effect.")
    x402_enabled: bool = Field(default=False, description="Kept from the original; no effect.")

    @field_validator(
        "require_approval", "require_ci", "testing_mandatory", "caos_free_tier", "x402_enabled",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _boolean(cls, value: Any) -> Any:
        """true/false, yes/no, on/off, 1/0 — anything else is an error, never silently false."""
        return strict_boolean(value)

    @property
    def uses_local_forge(self) -> bool:
        return self.token is None or not self.token.get_secret_value()


def load_github_settings(
    environ: Mapping[str, str], fallback: Mapping[str, Any] | None = None
) -> GitHubSettings:
    """The settings in `environ`; a blank variable counts as unset.  Raises `SettingsError`.

    `fallback` (a saved `phoenix-github` block's fields, `blocks.github.resolve_github_settings`)
    fills only the fields the environment leaves unset: the environment wins, so one machine can
    override what a deployment's block says.
    """
    settings = validate_environment(GitHubSettings, VARIABLES, environ, heading="Invalid setting: ")
    filled = {
        field: value
        for field, value in (fallback or {}).items()
        if field in GitHubSettings.model_fields
        and field not in settings.model_fields_set
        and value is not None
    }
    if not filled:
        return settings
    try:
        return GitHubSettings.model_validate(
            {**filled, **settings.model_dump(include=settings.model_fields_set)}
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise SettingsError(f"Invalid setting in the phoenix-github block: {problems}") from None
