"""Where a repository comes from: a git URL, a local path, or `owner/repo` on GitHub.

`resolve_source` turns what a person typed into a `RepoSource`: the URL to clone (credentials
removed), a display name and owner, and the credentials to send — as an HTTP header through git's
environment, never in argv, `.git/config` or the database (docs/design.md, "Security").

Two callers need more than that:
- a remote caller (the HTTP API) may only import from the network: `check_remote_import` is the one
  function that decides, and every API route that reaches the import flow asks it;
- a credential in a URL must not become a flow-run parameter, which Prefect keeps in its database,
  shows in its UI and writes in its logs: `credentials_out_of_band` strips it before the flow is
  called and hands it to `resolve_source` in this process's context instead.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

from phoenix.errors import BadInput

NAME_SEGMENT = r"[A-Za-z0-9_.]*[A-Za-z0-9_][A-Za-z0-9_.-]*"
"""An owner or repository name: letters, digits, `_`, `.`, `-`; never dots only, never a leading `-`."""
OWNER_REPO = re.compile(rf"(?P<owner>{NAME_SEGMENT})/(?P<repo>{NAME_SEGMENT})")
SCP_LIKE = re.compile(r"[A-Za-z0-9_.-]+@(?P<host>[A-Za-z0-9_.-]+):(?P<path>.+)")
NETWORK_SCHEMES = ("http", "https", "git", "ssh")
REMOTE_SCHEMES = (*NETWORK_SCHEMES, "file")
TOKEN_LOGIN = "x-access-token"  # noqa: S105 - a user name, not a secret
"""The user name sent with a bare token (GitHub's convention; forges ignore it for tokens)."""
SOURCE_PARAMETERS = {"import-and-build-repo": "source"}
"""Flows whose parameter names a repository source, which may carry a credential."""


class RepoSource(BaseModel):
    url: str
    name: str
    owner: str | None
    token: SecretStr | None = None
    login: str = TOKEN_LOGIN

    def git_environment(self) -> dict[str, str]:
        """Environment for git: no prompts, and the credentials as an HTTP header if there are any."""
        environment = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        if self.token is not None and self.url.startswith(("http://", "https://")):
            pair = f"{self.login}:{self.token.get_secret_value()}"
            basic = base64.b64encode(pair.encode())
            environment |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic.decode()}",
            }
        return environment


class UrlCredential(BaseModel):
    """The user and secret a URL carried, sent as HTTP Basic credentials."""

    login: str
    secret: SecretStr


_handed_over: ContextVar[Mapping[str, UrlCredential] | None] = ContextVar(
    "phoenix_url_credentials", default=None
)


def is_network_url(text: str) -> bool:
    """Whether `text` is a git URL reached over the network (not a folder or `file://` here)."""
    prefixes = tuple(f"{scheme}://" for scheme in NETWORK_SCHEMES)
    return text.startswith(prefixes) or SCP_LIKE.fullmatch(text) is not None


def parse_owner_repo(text: str) -> tuple[str, str] | None:
    """`(owner, repo)` if `text` is `owner/repo` (a trailing `.git` dropped), else None."""
    match = OWNER_REPO.fullmatch(text)
    if match is None:
        return None
    repo = match.group("repo").removesuffix(".git")
    if not re.fullmatch(NAME_SEGMENT, repo):
        return None
    return match.group("owner"), repo


def split_credentials(text: str) -> tuple[str, UrlCredential | None]:
    """`text` without the credential its URL carries, and that credential (None if there is none).

    `https://TOKEN@host/...` is a token; `https://user:secret@host/...` a user and password (or
    token).  An `ssh://` URL keeps its user, which is an SSH login (`git@`), not a secret; a password
    in it is dropped, since git never sends one over SSH.  Anything but a URL is returned as it is.
    """
    parts = urlsplit(text) if "://" in text else None
    if parts is None or "@" not in parts.netloc:
        return text, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    if parts.scheme == "ssh":
        netloc, credential = f"{user}@{host}" if user else host, None
    elif parts.scheme in ("http", "https") and (user or password):
        netloc = host
        credential = (
            UrlCredential(login=unquote(user) or TOKEN_LOGIN, secret=SecretStr(unquote(password)))
            if has_password and password
            else UrlCredential(login=TOKEN_LOGIN, secret=SecretStr(unquote(user)))
        )
    else:
        netloc, credential = host, None
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), credential


def credentials_out_of_band(
    flow_name: str, parameters: dict[str, Any]
) -> tuple[dict[str, Any], AbstractContextManager[None]]:
    """The flow's parameters with no credential in them, and the context that carries it instead.

    `flows.run_flow` calls this for every flow it runs, so neither the CLI, the local service nor the
    HTTP API hands Prefect a token: the flow gets the clean URL, and `resolve_source`, called inside
    the returned context, finds the credential by that URL — in memory, in this process only.
    """
    name = SOURCE_PARAMETERS.get(flow_name)
    source = parameters.get(name) if name else None
    if not isinstance(source, str):
        return parameters, nullcontext()
    clean, credential = split_credentials(source.strip())
    if credential is None:
        return parameters | {name: clean} if clean != source.strip() else parameters, nullcontext()
    return parameters | {name: clean}, _handing_over(clean, credential)


def token_for_url(url: str, token: SecretStr) -> AbstractContextManager[None]:
    """Within this context `resolve_source(url)` clones with `token`, which no parameter carries."""
    return _handing_over(url, UrlCredential(login=TOKEN_LOGIN, secret=token))


@contextmanager
def _handing_over(url: str, credential: UrlCredential) -> Iterator[None]:
    reset = _handed_over.set({**(_handed_over.get() or {}), url: credential})
    try:
        yield
    finally:
        _handed_over.reset(reset)


def check_remote_import(
    source: str | None = None, owner: str | None = None, repo: str | None = None
) -> str:
    """What a remote caller (the HTTP API) may import, as the source to give the import flow.

    The API may be reachable from other machines, so it never clones the server's own folders: only
    a network git URL (https, http, ssh, git, or `user@host:path`) or `owner/repo` passes.  `owner/repo`
    comes back as the forge's URL, because the flow would prefer a folder of that name if one existed
    where the server runs.  Raises `BadInput` for anything else.
    """
    if owner is not None or repo is not None:
        text = f"{owner or ''}/{repo or ''}"
        if source is not None or parse_owner_repo(text) is None:
            raise BadInput(
                f"{text!r} is not owner/repo: each is letters, digits, '_', '.' or '-', not starting"
                " with '-' and not dots only"
            )
    else:
        text = (source or "").strip()
    if (pair := parse_owner_repo(text)) is not None:
        return f"{web_base_url(os.environ.get('GITHUB_API_URL'))}/{pair[0]}/{pair[1]}.git"
    if not is_network_url(text):
        shown = split_credentials(text)[0]
        raise BadInput(
            f"{shown!r} is not a remote git URL (https, http, ssh, git) or owner/repo;"
            " local folders are CLI-only"
        )
    clean, _ = split_credentials(text)
    host = urlsplit(clean).hostname if "://" in clean else SCP_LIKE.fullmatch(clean).group("host")
    if not host or host.startswith("-"):
        raise BadInput(f"{clean!r} names no host to clone from")
    return text


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
    stripped, credential = split_credentials(text)
    # A credential typed into the URL counts (the flow strips it if one reaches it anyway);
    # otherwise the one `credentials_out_of_band` handed over for this URL.
    credential = credential or (_handed_over.get() or {}).get(stripped)
    clean = urlunsplit(urlsplit(stripped)._replace(query="", fragment=""))
    name, owner = _name_and_owner(parts.path)
    if parts.scheme == "file":
        owner = None
    source = RepoSource(url=clean, name=name, owner=owner)
    if credential is not None:
        source = source.model_copy(update={"token": credential.secret, "login": credential.login})
    return source


def resolve_source(
    text: str, github_api_url: str | None = None, github_token: str | None = None
) -> RepoSource:
    """What to clone for `text`: a URL, a local folder, or `owner/repo`.

    GITHUB_PAT (or `github_token`) goes to the forge only: with `owner/repo`, and with a URL on the
    forge's host that carries no credential of its own.
    """
    value = (text or "").strip()
    if not value:
        raise BadInput("Say which repository to import: a git URL, a local path or owner/repo")
    if value.startswith("-"):
        raise BadInput(f"{value!r} is not a repository")
    base = web_base_url(github_api_url or os.environ.get("GITHUB_API_URL"))
    token = github_token if github_token is not None else os.environ.get("GITHUB_PAT")
    if "://" in value:
        source = _remote(value)
        if source.token is None and token and source.url.startswith(f"{base}/"):
            source = source.model_copy(update={"token": SecretStr(token)})
        return source
    if (match := SCP_LIKE.fullmatch(value)) is not None:
        name, owner = _name_and_owner(match.group("path"))
        return RepoSource(url=value, name=name, owner=owner)
    local = Path(value).expanduser()
    if local.exists():
        if not local.is_dir():
            raise BadInput(f"{value!r} is a file, not a repository folder")
        resolved = local.resolve()
        return RepoSource(url=resolved.as_uri(), name=resolved.name, owner=None)
    if (pair := parse_owner_repo(value)) is not None:
        owner, repo = pair
        return RepoSource(
            url=f"{base}/{owner}/{repo}.git",
            name=repo,
            owner=owner,
            token=SecretStr(token) if token else None,
        )
    raise BadInput(f"{value!r} is neither a git URL, an existing folder, nor owner/repo")


def repo_id(url: str, branch: str) -> str:
    """A short id that is the same every time the same source and branch are imported."""
    return hashlib.sha256(f"{url}#{branch}".encode()).hexdigest()[:10]
