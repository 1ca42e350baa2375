"""Bearer-token authentication of the HTTP API.

The token is `PHOENIX_API_TOKEN`.  When it is unset, `phoenix api` makes one, keeps it in
`PHOENIX_HOME/api-token` (readable by its owner only) and says where on stderr — the API is never
served without authentication.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from phoenix.settings import PhoenixSettings

_bearer = HTTPBearer(auto_error=False, description="PHOENIX_API_TOKEN")


def token_file(settings: PhoenixSettings) -> Path:
    return settings.home / "api-token"


def resolve_api_token(settings: PhoenixSettings) -> tuple[str, Path | None]:
    """The API token, and the file it was kept in when Phoenix made it."""
    if settings.api_token is not None and settings.api_token.get_secret_value():
        return settings.api_token.get_secret_value(), None
    path = token_file(settings)
    if path.exists():
        return path.read_text().strip(), path
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    return token, path


def bearer_dependency(expected: str):  # noqa: ANN201 - a FastAPI dependency
    """A dependency that lets a request through only with `Authorization: Bearer <expected>`."""

    def require_token(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> None:
        if credentials is None or not secrets.compare_digest(
            credentials.credentials.encode(), expected.encode()
        ):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Missing or wrong bearer token (see PHOENIX_API_TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_token
