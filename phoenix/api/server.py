"""`phoenix api`: serve the HTTP API with uvicorn.

Whoever holds the API's token can import, build and run code on this machine.  On loopback that is
the local user; beyond it, `serve_api` insists on a token the user chose (PHOENIX_API_TOKEN), never
the one Phoenix generated for its local service, and says once on stderr what the token grants.
"""

from __future__ import annotations

import ipaddress
import sys

from phoenix.api.app import create_app
from phoenix.api_token import resolve_api_token
from phoenix.errors import UsageError
from phoenix.settings import PhoenixSettings, load_settings


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the API on this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name or a wildcard: it may be reachable from elsewhere


def check_bind_address(host: str, settings: PhoenixSettings) -> str | None:
    """The warning to print when `host` is beyond loopback (None on loopback).

    Raises `UsageError` beyond loopback without PHOENIX_API_TOKEN: the generated token file is
    meant for the local service, and other machines must not get remote code execution behind a
    token the user never chose.
    """
    if is_loopback(host):
        return None
    if settings.api_token is None or not settings.api_token.get_secret_value().strip():
        raise UsageError(
            f"phoenix api --host {host} serves beyond loopback: set PHOENIX_API_TOKEN to a token of"
            " your own first (whoever holds it can import, build and run code on this machine)"
        )
    return (
        f"phoenix api: serving on {host}, beyond loopback: whoever holds PHOENIX_API_TOKEN can"
        " import, build and run code on this machine (remote code execution)"
    )


def serve_api(host: str = "127.0.0.1", port: int = 8888, local_imports: bool = False) -> None:
    """Serve the API until interrupted.

    Args:
        host: the address to bind; beyond loopback PHOENIX_API_TOKEN must be set.
        port: the port to bind.
        local_imports: let callers import the server's own folders — only for the CLI's own
            service (`phoenix.daemon`), never for `phoenix api`.
    """
    import uvicorn

    settings = load_settings()
    warning = check_bind_address(host, settings)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    token, kept_in = resolve_api_token(settings)
    if kept_in is not None:
        print(f"phoenix api: bearer token kept in {kept_in}", file=sys.stderr, flush=True)
    app = create_app(token, local_imports=local_imports)
    uvicorn.run(app, host=host, port=port, log_level="info")
