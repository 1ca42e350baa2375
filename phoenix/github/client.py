"""Publishing to a GitHub-compatible forge with PyGithub and GitPython: one code path for GitHub,
GitHub Enterprise and Phoenix's local forge.

Every call is idempotent, so re-running a spawn for the same name neither duplicates nor
half-overwrites anything: an existing repository is reused, an open pull request for the same
branch is reused, and a push of the same tree is a no-op.  The token reaches git only as an HTTP
header in git's environment (`RepoSource.git_environment`): never in argv, `.git/config` or logs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

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


class PushedTree(BaseModel):
    """What `push_tree` left on the forge."""

    sha: str  # the branch's head
    base_sha: str  # the base branch's head it starts from
    changed: bool  # the branch's files differ from the base's
    pushed: bool  # False: the branch already held exactly these files


def push_tree(
    source: Path,
    clone_url: str,
    token: SecretStr,
    base: str,
    branch: str,
    message: str,
    workdir: Path,
    first_readme: str,
) -> PushedTree:
    """Put exactly the files of `source` on `branch`, one commit on top of `base`, and push it.

    The branch starts from the base branch's head, so a pull request from it merges; a repository
    with no base branch yet gets one, holding only `first_readme`.  `branch == base` pushes straight
    to the base (a fast-forward).  A branch that already holds these files is left alone, so a
    re-run changes nothing; otherwise a PR branch is replaced (it is Phoenix's own).
    `workdir` is emptied and used as the clone.
    """
    from git import Actor, Repo

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    repo = Repo.init(workdir, initial_branch=base)
    author = Actor(*COMMITTER)
    environment = RepoSource(url=clone_url, name=source.name, owner=None, token=token).git_environment()
    with repo.git.custom_environment(**environment):
        heads = _remote_heads(repo, clone_url)
        if base in heads:
            repo.git.fetch(clone_url, f"+refs/heads/{base}:refs/remotes/origin/{base}")
            repo.git.checkout("-B", branch, f"origin/{base}")
        else:
            (workdir / "README.md").write_text(first_readme)
            repo.git.add(A=True)
            repo.index.commit("Start the repository", author=author, committer=author)
            repo.git.push(clone_url, f"HEAD:refs/heads/{base}")
            if branch != base:
                repo.git.checkout("-B", branch)
        base_commit = repo.head.commit
        _replace_files(workdir, source)
        repo.git.add(A=True)
        if repo.is_dirty(index=True, untracked_files=True):
            repo.index.commit(message, author=author, committer=author)
        head = repo.head.commit
        if branch != base and branch in heads:
            repo.git.fetch(clone_url, f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
            remote = repo.commit(f"origin/{branch}")
            if remote.tree == head.tree and base_commit in (remote, *remote.parents):
                return PushedTree(sha=remote.hexsha, base_sha=base_commit.hexsha,
                                  changed=remote.tree != base_commit.tree, pushed=False)  # fmt: skip
        replace = "+" if branch != base else ""
        repo.git.push(clone_url, f"{replace}HEAD:refs/heads/{branch}")
    return PushedTree(sha=head.hexsha, base_sha=base_commit.hexsha,
                      changed=head.tree != base_commit.tree, pushed=True)  # fmt: skip


def _remote_heads(repo: Any, clone_url: str) -> set[str]:
    listing = repo.git.ls_remote("--heads", clone_url)
    return {line.split("refs/heads/", 1)[1] for line in listing.splitlines() if "refs/heads/" in line}


def _replace_files(workdir: Path, source: Path) -> None:
    """The working tree becomes `source`'s files (its `.git` and build output excluded)."""
    for entry in workdir.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(source, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git", "target"))
