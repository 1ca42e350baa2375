"""Which forge Phoenix publishes to, as whom, and who reviews: GitHub with a token, else the local forge.

With `GITHUB_PAT` Phoenix talks to GitHub (or `GITHUB_API_URL`) as the token's account, creating
repositories under `GITHUB_USERNAME` when that names an organisation, else under the token's user;
the human reviewer is a person on GitHub, so `reviewer_token` is None.

With no token, Phoenix uses its own forge (started on demand) with two accounts it makes on first
use, as a team on GitHub would have: the bot `phoenix-bot`, which creates repositories in the
organisation `phoenix-agents` and opens pull requests, and the human reviewer (`PHOENIX_REVIEWER`,
default `reviewer`), a member of the same organisation — so the reviewer sees private agents, and
its approval is not the author's own.  Their tokens live in `PHOENIX_HOME/forge/credentials.json`
(mode 0600, like `gh`'s hosts file); the forge itself keeps only their hashes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, SecretStr

from phoenix.github.settings import GitHubSettings
from phoenix.settings import PhoenixSettings

GITHUB_API = "https://api.github.com"
LOCAL_ORG = "phoenix-agents"
LOCAL_BOT = "phoenix-bot"
DEFAULT_REVIEWER = "reviewer"


class ForgeAccount(BaseModel):
    login: str
    token: SecretStr


class ForgeAccess(BaseModel):
    """Where to publish and with which credentials; never a Prefect parameter or a log line."""

    api_url: str
    bot: ForgeAccount | None = None  # None on GitHub: the token's login is read when needed
    token: SecretStr
    owner: str | None  # None: the token's own user
    local: bool
    reviewer: ForgeAccount | None = None  # local forge only


def forge_access(
    settings: PhoenixSettings, github: GitHubSettings, environ: Mapping[str, str] | None = None
) -> ForgeAccess:
    """The forge of these settings: GitHub with a token, else this home's local forge (started)."""
    if not github.uses_local_forge:
        assert github.token is not None
        return ForgeAccess(
            api_url=(github.api_url or GITHUB_API).rstrip("/"), token=github.token,
            owner=github.username, local=False,
        )  # fmt: skip
    environ = os.environ if environ is None else environ
    reviewer = environ.get("PHOENIX_REVIEWER", "").strip() or DEFAULT_REVIEWER
    return local_forge_access(settings, reviewer)


def local_forge_access(settings: PhoenixSettings, reviewer_login: str = DEFAULT_REVIEWER) -> ForgeAccess:
    """This home's forge (started if none runs) and its bot and reviewer accounts (made once)."""
    from phoenix.forge.server import api_url, ensure_forge, forge_folder, issue_token

    web_url = ensure_forge(settings)
    path = forge_folder(settings) / "credentials.json"
    saved = _read_credentials(path)
    changed = False
    for login in (LOCAL_BOT, reviewer_login):
        if login not in saved:
            saved[login] = str(issue_token(settings, login, org=LOCAL_ORG)["token"])
            changed = True
    if changed:
        _write_credentials(path, saved)
    bot = ForgeAccount(login=LOCAL_BOT, token=SecretStr(saved[LOCAL_BOT]))
    return ForgeAccess(
        api_url=api_url(web_url), bot=bot, token=bot.token, owner=LOCAL_ORG, local=True,
        reviewer=ForgeAccount(login=reviewer_login, token=SecretStr(saved[reviewer_login])),
    )  # fmt: skip


def _read_credentials(path: Path) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    except FileNotFoundError:
        return {}


def _write_credentials(path: Path, tokens: dict[str, str]) -> None:
    """Atomically, readable by this home's owner only from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # two processes may write it at once
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(tokens, handle)
    os.replace(temporary, path)
