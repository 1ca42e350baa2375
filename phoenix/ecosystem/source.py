"""Where a repository comes from: a git URL, a local path, or `owner/repo` on GitHub.

`resolve_source` turns what a person typed into a `RepoSource`: the URL to clone (credentials
removed), a display name and owner, and the credentials to send — as an HTTP header through git's
environment, never in argv, `.git/config` or the database (DESIGN.md §4).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

from phoenix.errors import BadInput

OWNER_REPO = re.compile(r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?")
SCP_LIKE = re.compile(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:(?P<path>.+)")
NETWORK_SCHEMES = ("http", "https", "git", "ssh")
REMOTE_SCHEMES = (*NETWORK_SCHEMES, "file")


class RepoSource(BaseModel):
    url: str
    name: str
    owner: str | None
    token: SecretStr | None = None

    def git_environment(self) -> dict[str, str]:
        """Environment for git: no prompts, and the credentials as an HTTP header if there are any."""
        environment = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        if self.token is not None and self.url.startswith(("http://", "https://")):
            basic = base64.b64encode(f"x-access-token:{self.token.get_secret_value()}".encode())
            environment |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic.decode()}",
            }
        return environment


def is_network_url(text: str) -> bool:
    """Whether `text` is a git URL reached over the network (not a folder or `file://` here)."""
    prefixes = tuple(f"{scheme}://" for scheme in NETWORK_SCHEMES)
    return text.startswith(prefixes) or SCP_LIKE.fullmatch(text) is not None


def web_base_url(github_api_url: str | None) -> str:
    """The web (and git) address of a GitHub whose REST API lives at `github_api_url`."""
    if not github_api_url:
        return "https://github.com"
    parts = urlsplit(github_api_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3").removesuffix("/api")
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


def _name_and_owner(path: str) -> tuple[str, str | None]:
    pieces = [piece for piece in path.rstrip("/").split("/") if piece]
    if not pieces:
        raise BadInput("The repository URL names no repository")
    name = pieces[-1].removesuffix(".git")
    owner = pieces[-2] if len(pieces) > 1 else None
    return name, owner


def _remote(text: str) -> RepoSource:
    parts = urlsplit(text)
    if parts.scheme not in REMOTE_SCHEMES:
        raise BadInput(f"Unsupported URL scheme {parts.scheme!r}: use https, http, ssh, git or file")
    token = SecretStr(parts.password or parts.username or "") if parts.username else None
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    name, owner = _name_and_owner(parts.path)
    if parts.scheme == "file":
        owner = None
    return RepoSource(url=clean, name=name, owner=owner, token=token)


def resolve_source(
    text: str, github_api_url: str | None = None, github_token: str | None = None
) -> RepoSource:
    """What to clone for `text`: a URL, a local folder, or `owner/repo`."""
    value = (text or "").strip()
    if not value:
        raise BadInput("Say which repository to import: a git URL, a local path or owner/repo")
    if value.startswith("-"):
        raise BadInput(f"{value!r} is not a repository")
    if "://" in value:
        return _remote(value)
    if (match := SCP_LIKE.fullmatch(value)) is not None:
        name, owner = _name_and_owner(match.group("path"))
        return RepoSource(url=value, name=name, owner=owner)
    local = Path(value).expanduser()
    if local.exists():
        if not local.is_dir():
            raise BadInput(f"{value!r} is a file, not a repository folder")
        resolved = local.resolve()
        return RepoSource(url=resolved.as_uri(), name=resolved.name, owner=None)
    if (match := OWNER_REPO.fullmatch(value)) is not None:
        base = web_base_url(github_api_url or os.environ.get("GITHUB_API_URL"))
        token = github_token if github_token is not None else os.environ.get("GITHUB_PAT")
        return RepoSource(
            url=f"{base}/{match.group('owner')}/{match.group('repo')}.git",
            name=match.group("repo"),
            owner=match.group("owner"),
            token=SecretStr(token) if token else None,
        )
    raise BadInput(f"{value!r} is neither a git URL, an existing folder, nor owner/repo")


def repo_id(url: str, branch: str) -> str:
    """A short id that is the same every time the same source and branch are imported."""
    return hashlib.sha256(f"{url}#{branch}".encode()).hexdigest()[:10]
