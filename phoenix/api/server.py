"""`phoenix api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import sys

from phoenix.api.app import create_app
from phoenix.api_token import resolve_api_token
from phoenix.settings import load_settings


def serve_api(host: str = "127.0.0.1", port: int = 8888) -> None:
    import uvicorn

    token, kept_in = resolve_api_token(load_settings())
    if kept_in is not None:
        print(f"phoenix api: bearer token kept in {kept_in}", file=sys.stderr, flush=True)
    uvicorn.run(create_app(token), host=host, port=port, log_level="info")
