"""The bare repositories under `PHOENIX_HOME/forge/repos/<owner>/<name>.git`, read and written with git.

Refs are read from the files themselves (a loose ref, else `packed-refs`): a GET of a branch then costs
no process. Merges happen in the bare repository without a work tree, as GitHub does them:
`git merge-tree --write-tree` (the merged tree, or a conflict), `git commit-tree`, then
`git update-ref NEW OLD`, which refuses if the branch moved meanwhile.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

from pydantic import BaseModel

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class Person(BaseModel):
    name: str
    email: str
    date: str


class CommitInfo(BaseModel):
    sha: str
    tree: str
    parents: list[str]
    author: Person
    committer: Person
    message: str


def valid_name(name: str) -> bool:
    """A repository or account name GitHub would accept (and a safe path component)."""
    return bool(NAME.match(name)) and name not in (".", "..") and not name.lower().endswith(".git")


def git_environment(identity: tuple[str, str] | None = None) -> dict[str, str]:
    """git with none of the user's configuration, and `identity` as author and committer."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "HOME": "/nonexistent",
        "LANG": "C",
    }
    if identity:
        name, email = identity
        environment |= {
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
        }  # fmt: skip
    return environment


def run_git(
    path: Path, *arguments: str, stdin: bytes | None = None, identity: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "--git-dir", str(path), *arguments],
        input=stdin,
        capture_output=True,
        env=git_environment(identity),
        check=False,
    )


def init_bare(path: Path, default_branch: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["git", "init", "-q", "--bare", "-b", default_branch, str(path)],
        capture_output=True,
        env=git_environment(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace"))


def initial_commit(path: Path, branch: str, readme: str, identity: tuple[str, str]) -> str:
    """Commit a README.md on `branch` of an empty bare repository (`auto_init`)."""
    blob = run_git(path, "hash-object", "-w", "--stdin", stdin=readme.encode()).stdout.decode().strip()
    tree = run_git(path, "mktree", stdin=f"100644 blob {blob}\tREADME.md\n".encode())
    tree_sha = tree.stdout.decode().strip()
    commit = run_git(path, "commit-tree", tree_sha, "-m", "Initial commit", identity=identity)
    sha = commit.stdout.decode().strip()
    run_git(path, "update-ref", f"refs/heads/{branch}", sha)
    return sha


def read_ref(path: Path, branch: str) -> str | None:
    """The commit `refs/heads/<branch>` points at, or None; read from the ref files, no process."""
    if ".." in branch or branch.startswith("/"):
        return None
    loose = path / "refs" / "heads" / branch
    try:
        return loose.read_text().strip() or None
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    wanted = f"refs/heads/{branch}"
    try:
        for line in (path / "packed-refs").read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == wanted:
                return sha
    except FileNotFoundError:
        pass
    return None


def branches(path: Path) -> list[tuple[str, str]]:
    done = run_git(path, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    return [tuple(line.split(" ", 1)) for line in done.stdout.decode().splitlines()]  # type: ignore[misc]


def resolve(path: Path, ref: str) -> str | None:
    """A full commit sha for a sha, short sha or branch name."""
    if ref.startswith("-"):
        return None
    done = run_git(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return done.stdout.decode().strip() or None if done.returncode == 0 else None


def _person(line: str) -> Person:
    match = re.match(r"^(.*) <(.*)> (\d+) ([+-]\d{4})$", line)
    if not match:
        return Person(name=line, email="", date="1970-01-01T00:00:00Z")
    stamp = dt.datetime.fromtimestamp(int(match.group(3)), dt.UTC)
    return Person(name=match.group(1), email=match.group(2), date=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))


def commit_info(path: Path, sha: str) -> CommitInfo | None:
    done = run_git(path, "cat-file", "commit", sha)
    if done.returncode != 0:
        return None
    header, _, message = done.stdout.decode(errors="replace").partition("\n\n")
    tree, parents, people = "", [], {}
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key in ("author", "committer"):
            people[key] = _person(value)
    return CommitInfo(
        sha=sha, tree=tree, parents=parents, author=people["author"],
        committer=people["committer"], message=message.rstrip("\n"),
    )  # fmt: skip


def merged_tree(path: Path, base: str, head: str) -> str | None:
    """The tree of `head` merged into `base`, or None when they conflict."""
    done = run_git(path, "merge-tree", "--write-tree", "--no-messages", base, head)
    if done.returncode != 0:
        return None
    return done.stdout.decode().splitlines()[0].strip()


def is_ancestor(path: Path, older: str, newer: str) -> bool:
    return run_git(path, "merge-base", "--is-ancestor", older, newer).returncode == 0


def merge(
    path: Path, branch: str, base: str, head: str, method: str, message: str, identity: tuple[str, str]
) -> str | None:
    """Merge `head` into `branch` (at `base`) with `method`; the new commit, or None on conflict
    or when the branch moved meanwhile."""
    tree = merged_tree(path, base, head)
    if tree is None:
        return None
    parents = ["-p", base] if method == "squash" else ["-p", base, "-p", head]
    done = run_git(path, "commit-tree", tree, *parents, stdin=message.encode(), identity=identity)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace"))
    sha = done.stdout.decode().strip()
    moved = run_git(path, "update-ref", f"refs/heads/{branch}", sha, base)
    return sha if moved.returncode == 0 else None
