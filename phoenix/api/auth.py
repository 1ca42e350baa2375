"""Bearer-token authentication of the HTTP API (the token itself: `phoenix.api_token`)."""

from __future__ import annotations

import secrets

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="PHOENIX_API_TOKEN")


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
