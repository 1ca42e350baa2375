"""Tasks of the spawn-agent flow that publish the agent to a forge: the repository, its branch, its
pull request.

Credentials never pass through a task's parameters (Prefect records those): each task finds the
forge and its token itself (`phoenix.github.access`), from the environment and PHOENIX_HOME.  Each
call is idempotent (`phoenix.github.client`), so Prefect's retries and a re-run of a spawn for the
same name reuse what is already there.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from blocks.github import resolve_forge_access
from phoenix.github.client import PushedTree, connect, ensure_pull, ensure_repository, push_tree

FORGE_RETRIES = {"retries": 2, "retry_delay_seconds": [1, 5]}
"""A forge that blinks (a restart, GitHub's 502s) gets two more tries; every call is idempotent."""


class PublishedRepo(BaseModel):
    full_name: str
    clone_url: str
    html_url: str
    private: bool


class OpenedPull(BaseModel):
    number: int
    url: str
    head_sha: str


@task(name="create-repository", cache_policy=NO_CACHE, **FORGE_RETRIES)
def create_repository(name: str, private: bool, description: str) -> PublishedRepo:
    """The agent's repository on the forge, created if it is not there yet."""
    access = resolve_forge_access()
    client = connect(access.api_url, access.token)
    repo = ensure_repository(client, access.owner, name, private, description[:300])
    return PublishedRepo(
        full_name=repo.full_name, clone_url=repo.clone_url, html_url=repo.html_url,
        private=repo.private,
    )  # fmt: skip


@task(name="push-agent", cache_policy=NO_CACHE, **FORGE_RETRIES)
def push_agent(
    folder: Path, clone_url: str, base: str, branch: str, message: str, workdir: Path, readme: str
) -> PushedTree:
    """The agent's files as one commit on `branch` (from `base`), pushed with the token in git's
    environment only."""
    access = resolve_forge_access()
    return push_tree(folder, clone_url, access.token, base, branch, message, workdir, readme)


@task(name="open-pull-request", cache_policy=NO_CACHE, **FORGE_RETRIES)
def open_pull_request(full_name: str, branch: str, base: str, title: str, body: str) -> OpenedPull:
    """The pull request from `branch` into `base`, opened if none is open (an open one is kept)."""
    access = resolve_forge_access()
    repo = connect(access.api_url, access.token).get_repo(full_name)
    pull = ensure_pull(repo, branch, base, title, body[:60000])
    return OpenedPull(number=pull.number, url=pull.html_url, head_sha=pull.head.sha)
