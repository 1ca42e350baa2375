"""Publishing to a GitHub-compatible forge with PyGithub and GitPython: one code path for GitHub,
GitHub Enterprise and Phoenix's local forge.

Every call is idempotent, so re-running a spawn for the same name neither duplicates nor
half-overwrites anything: an existing repository is reused, an open pull request for the same
branch is reused, and a push of the same tree is a no-op.  The token reaches git only as an HTTP
header in git's environment (`RepoSource.git_environment`): never in argv, `.git/config` or logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from phoenix.ecosystem.source import RepoSource
from phoenix.github.gate import CheckRun, CommitStatus, PullFacts, Review

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest
    from github.Repository import Repository

COMMITTER = ("Phoenix", "phoenix@localhost")


def connect(api_url: str, token: SecretStr, user_agent: str = "phoenix-orchestrator") -> Github:
    """A PyGithub client for `api_url` (`https://api.github.com`, or `http://host:port/api/v3`).

    PyGithub's default throttle (a second between writes, a quarter between reads) and its retries
    are for github.com's abuse limits; Phoenix's flows retry through Prefect instead.
    """
    from github import Auth, Github

    return Github(
        auth=Auth.Token(token.get_secret_value()), base_url=api_url.rstrip("/"), retry=None,
        seconds_between_requests=0, seconds_between_writes=0, user_agent=user_agent,
    )  # fmt: skip


def ensure_repository(
    client: Github, owner: str | None, name: str, private: bool, description: str
) -> Repository:
    """The repository `owner/name` (the token's user when `owner` is None), created if missing."""
    from github import UnknownObjectException

    user = client.get_user()
    login = owner or user.login
    try:
        return client.get_repo(f"{login}/{name}")
    except UnknownObjectException:
        pass
    if owner is None or owner == user.login:
        return user.create_repo(name, description=description, private=private, auto_init=False)
    return client.get_organization(owner).create_repo(
        name, description=description, private=private, auto_init=False
    )


def push_folder(
    folder: Path, clone_url: str, branch: str, token: SecretStr, message: str, replace: bool = False
) -> str:
    """Commit everything in `folder` on `branch` and push it; returns the pushed commit's sha.

    `replace` lets the push replace the branch's history — for Phoenix's own PR branch
    (`evolve/spawn-<id>`), which a re-spawn rewrites; a base branch is only ever fast-forwarded.
    """
    from git import Actor, Repo

    repo = Repo.init(folder, initial_branch=branch) if not (folder / ".git").exists() else Repo(folder)
    if repo.active_branch.name != branch:
        repo.git.checkout("-B", branch)
    repo.git.add(A=True)
    if repo.is_dirty(index=True, untracked_files=True) or not repo.head.is_valid():
        author = Actor(*COMMITTER)
        repo.index.commit(message, author=author, committer=author)
    source = RepoSource(url=clone_url, name=folder.name, owner=None, token=token)
    with repo.git.custom_environment(**source.git_environment()):
        repo.git.push(clone_url, f"{'+' if replace else ''}HEAD:refs/heads/{branch}")
    return repo.head.commit.hexsha


def ensure_pull(repo: Repository, head: str, base: str, title: str, body: str) -> PullRequest:
    """The open pull request from `head` into `base`, opened if there is none (its body kept)."""
    for pull in repo.get_pulls(state="open", base=base):
        if pull.head.ref == head:
            return pull
    return repo.create_pull(title=title, body=body, head=head, base=base)


def pull_facts(repo: Repository, number: int) -> PullFacts:
    """What the merge gate needs, read for the PR's current head."""
    pull = repo.get_pull(number)
    sha = pull.head.sha
    commit = repo.get_commit(sha)
    statuses = [  # the combined status holds each context's latest status
        CommitStatus(context=status.context or "default", state=status.state)
        for status in commit.get_combined_status().statuses
    ]
    runs = [
        CheckRun(name=run.name, status=run.status, conclusion=run.conclusion)
        for run in commit.get_check_runs()
    ]
    reviews = [Review(user=r.user.login, state=r.state) for r in pull.get_reviews()]
    return PullFacts(
        author=pull.user.login, head_sha=sha, statuses=statuses, check_runs=runs, reviews=reviews
    )
