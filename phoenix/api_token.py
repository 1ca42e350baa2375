"""The bearer token of Phoenix's HTTP API.

It is `PHOENIX_API_TOKEN` when set.  Otherwise Phoenix makes one, keeps it in `PHOENIX_HOME/api-token`
(readable by its owner only) and uses it for the local API that serves the CLI — the API is never
served without authentication, and the token never appears in argv, logs or the database.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from phoenix.settings import PhoenixSettings


def token_file(settings: PhoenixSettings) -> Path:
    return settings.home / "api-token"


def resolve_api_token(settings: PhoenixSettings) -> tuple[str, Path | None]:
    """The API token, and the file it is kept in when Phoenix made it."""
    if settings.api_token is not None and settings.api_token.get_secret_value():
        return settings.api_token.get_secret_value(), None
    path = token_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), path
    token = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    return token, path
