"""Tasks that talk to git: cloning a repository into PHOENIX_HOME, all or nothing.

A clone lands in a temporary folder first and is moved into place only once it is complete, so a
failed clone leaves no folder behind; its error is sorted into "not found", "access denied", "no such
branch" and "remote unreachable" (no route, refused, a 5xx: HTTP 502, never a 500) so that people can
act on it, and carries git's own reason — its `fatal:`/`error:` lines, credentials masked.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from git import GitCommandError, Repo
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from phoenix.ecosystem.source import RepoSource, repo_id
from phoenix.errors import BadInput, NotFound, OperationFailed, PhoenixError


class RepoAccessDenied(PhoenixError):
    """The forge refused the credentials (or asked for some and none were given)."""

    code = "access_denied"
    http_status = 403
    exit_code = 1


class RemoteUnreachable(OperationFailed):
    """The remote could not be reached, or answered with a server error: nothing to fix here."""

    code = "remote_unreachable"
    http_status = 502


class ClonedRepo(BaseModel):
    id: str
    local_path: str
    branch: str
    commit: str
    staging_path: str | None = None  # where the clone waits until it is installed at local_path


ACCESS_DENIED = re.compile(
    r"authentication failed|could not read username|permission denied|terminal prompts disabled"
    r"|\b40[13]\b"
)
NOT_THERE = re.compile(
    r"not found|does not exist|does not appear to be a git repository|no such file|\b404\b"
)
UNREACHABLE = re.compile(
    r"could not resolve|failed to connect|couldn't connect|connection refused|connection reset"
    r"|timed out|network is unreachable|no route to host|empty reply from server"
    r"|certificate|ssl|gnutls|returned error: 5\d\d|unexpected disconnect|early eof"
)
_USERINFO = re.compile(r"(?<=://)[^/@\s']+@")
_MEANINGFUL = ("fatal:", "error:", "remote:", "ssh:")


def git_reason(error: GitCommandError, secrets: list[str]) -> str:
    """git's own words for why it failed: its `fatal:`/`error:`/`remote:` lines (else its last
    line), with any user or token in a URL, and each of `secrets`, masked.

    GitPython wraps stderr as `\n  stderr: '...'`; its last line alone is the closing quote.
    """
    text = str(error.stderr or "").strip()
    text = text.removeprefix("stderr:").strip().removeprefix("'").removesuffix("'")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    meaningful = [line for line in lines if line.lower().startswith(_MEANINGFUL)]
    reason = " ".join(meaningful or lines[-1:]) or f"git exited with {error.status}"
    for secret in secrets:
        if secret:
            reason = reason.replace(secret, "***")
    return _USERINFO.sub("***@", reason)[:1000]


def _clone_error(error: GitCommandError, source: RepoSource, branch: str | None) -> PhoenixError:
    secrets = [source.token.get_secret_value()] if source.token is not None else []
    reason = git_reason(error, secrets)
    # Only git's own words count: the URL itself (a port like 34035, say) must not match.
    text = f"{error.stderr or ''} {error.stdout or ''}".lower().replace(source.url.lower(), "<url>")
    text = re.sub(r"port \d+|after \d+ ms", "", text)  # curl's numbers are not HTTP statuses
    if branch and ("remote branch" in text and "not found" in text):
        return BadInput(f"The repository {source.url} has no branch {branch!r}")
    if ACCESS_DENIED.search(text):
        return RepoAccessDenied(f"Access to {source.url} was denied: check GITHUB_PAT ({reason})")
    if NOT_THERE.search(text):
        return NotFound(f"No git repository at {source.url} ({reason})")
    if UNREACHABLE.search(text):
        return RemoteUnreachable(f"Cannot reach {source.url}: {reason}")
    return OperationFailed(f"Cloning {source.url} failed: {reason}")


@task(name="clone-repo", cache_policy=NO_CACHE)
def clone_repo(source: RepoSource, branch: str | None, repos_folder: Path) -> ClonedRepo:
    """Clone `source` (at `branch`, or its default branch) into a staging folder.

    The clone is not in place yet: `install_clone` moves it to `repos_folder/<id>` (replacing an
    older working copy) and `discard_clone` throws it away, so the flow can decide in between.
    """
    repos_folder.mkdir(parents=True, exist_ok=True)
    incoming = repos_folder / f".incoming-{uuid.uuid4().hex[:8]}"
    try:
        try:
            repo = Repo.clone_from(
                source.url,
                incoming,
                branch=branch,
                env=source.git_environment(),
                multi_options=["--no-tags", "--single-branch"],
            )
        except GitCommandError as error:
            raise _clone_error(error, source, branch) from None
        if repo.head.is_detached or not repo.heads:
            raise BadInput(f"{source.url} has no branch to check out")
        actual_branch = repo.active_branch.name
        commit = repo.head.commit.hexsha
        repo.close()
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    identifier = repo_id(source.url, actual_branch)
    return ClonedRepo(
        id=identifier,
        local_path=str(repos_folder / identifier),
        branch=actual_branch,
        commit=commit,
        staging_path=str(incoming),
    )


@task(name="install-clone", cache_policy=NO_CACHE)
def install_clone(cloned: ClonedRepo) -> ClonedRepo:
    """Move a staged clone to its place, replacing the working copy of an earlier import."""
    destination = Path(cloned.local_path)
    if cloned.staging_path is None:
        return cloned
    if destination.exists():
        retired = destination.with_name(f".retired-{uuid.uuid4().hex[:8]}")
        destination.rename(retired)
        shutil.rmtree(retired, ignore_errors=True)
    Path(cloned.staging_path).rename(destination)
    return cloned.model_copy(update={"staging_path": None})


@task(name="discard-clone", cache_policy=NO_CACHE)
def discard_clone(cloned: ClonedRepo) -> None:
    if cloned.staging_path is not None:
        shutil.rmtree(cloned.staging_path, ignore_errors=True)


@task(name="remove-repo-folder", cache_policy=NO_CACHE)
def remove_repo_folder(local_path: str, repos_folder: Path) -> None:
    """Delete a clone — only ever inside Phoenix's own repos folder."""
    folder = Path(local_path).resolve()
    if folder.parent != repos_folder.resolve():
        raise OperationFailed(f"Refusing to delete {folder}: it is not a Phoenix clone")
    shutil.rmtree(folder, ignore_errors=True)
