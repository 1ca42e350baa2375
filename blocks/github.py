"""The `phoenix-github` block: which forge Phoenix publishes agents to, and what their pull requests
must pass.  Every field has an environment variable (`phoenix.github.settings.VARIABLES`), which wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.form import filled_fields, saved_block
from phoenix.github.settings import GitHubSettings, load_github_settings

if TYPE_CHECKING:
    from phoenix.github.access import ForgeAccess

DEFAULT_BLOCK_NAME = "default"


class GitHubBlock(Block):
    """The forge and the pull-request rules for Phoenix's spawned agents; empty means "not set
    here" (the environment, else the default, decides)."""

    _block_type_name: ClassVar[str] = "Phoenix GitHub"
    _block_type_slug: ClassVar[str] = "phoenix-github"
    _description: ClassVar[str] = (
        "The forge (GitHub, GitHub Enterprise or Phoenix's local forge), its token, and what a"
        " spawned agent's pull request must pass before it merges."
    )

    token: SecretStr | None = Field(
        default=None, description="A GitHub token (GITHUB_PAT); empty: Phoenix's local forge."
    )
    username: str | None = Field(
        default=None,
        description="The account or organisation owning new repositories (GITHUB_USERNAME).",
    )
    api_url: str | None = Field(
        default=None, description="The REST API, e.g. https://host/api/v3 (GITHUB_API_URL)."
    )
    require_approval: bool | None = Field(
        default=None,
        description="A human other than the author must approve"
        " (REQUIRE_HUMAN_PR_APPROVAL; default true).",
    )
    require_ci: bool | None = Field(
        default=None,
        description="Every commit status and check run must pass (MANDATE_GITHUB_CI; default false).",
    )
    testing_mandatory: bool | None = Field(
        default=None,
        description="Publish nothing whose cargo test fails (TESTING_MANDATORY; default true).",
    )
    base_branch: str | None = Field(
        default=None, description="The branch pull requests merge into (BASE_BRANCH; default main)."
    )
    approval_timeout_hours: float | None = Field(
        default=None,
        gt=0,
        description="How long a PR waits for CI and approval (PR_APPROVAL_TIMEOUT_HOURS; default 72).",
    )
    merge_method: Literal["merge", "squash", "rebase"] | None = Field(
        default=None, description="merge, squash or rebase (PHOENIX_MERGE_METHOD; default merge)."
    )
    spawn_repairs: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description="Times the LLM may repair failing code (PHOENIX_SPAWN_REPAIRS; default 2).",
    )
    user_agent: str | None = Field(
        default=None, description="User-Agent sent to the forge (PHOENIX_USER_AGENT)."
    )

    def as_settings_fields(self) -> dict[str, Any]:
        """The block's values as `GitHubSettings` fields; an empty field means "not set here"."""
        return filled_fields(self, _FIELDS)


_FIELDS = frozenset(GitHubSettings.model_fields)
"""The block's fields that are settings (CAOS_FREE_TIER and X402_ENABLED, which do nothing here,
are environment only)."""


def resolve_github_settings(
    block_name: str = DEFAULT_BLOCK_NAME, environ: Mapping[str, str] | None = None
) -> GitHubSettings:
    """The GitHub settings: the environment, then the saved block of that name, then defaults.

    No saved block (or no registered block type) means the environment and defaults only; an
    unreachable Prefect API is an error, as for `blocks.llm.resolve_settings`.
    """
    environ = os.environ if environ is None else environ
    block = saved_block(GitHubBlock, block_name)
    fallback = block.as_settings_fields() if isinstance(block, GitHubBlock) else None
    return load_github_settings(environ, fallback)


def resolve_forge_access() -> ForgeAccess:
    """The forge of these settings and PHOENIX_HOME, with its credentials (the local forge started
    if none runs): what every task and route that talks to the forge uses."""
    from phoenix.github.access import forge_access
    from phoenix.settings import load_settings

    return forge_access(load_settings(), resolve_github_settings())
