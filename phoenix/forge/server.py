"""Running the forge: `phoenix forge serve` in the foreground, or started on demand and left running.

Either way the running forge is recorded in `PHOENIX_HOME/forge/forge.json` (through
`phoenix.managed_server`), so every later command of that home finds it. The forge process alone
opens `forge.duckdb`; `phoenix forge token` goes through the running server (authenticated by
`admin.secret`, readable by this home's owner only) and opens the file itself only when none runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from phoenix.errors import BadInput, Conflict, OperationFailed, PhoenixError
from phoenix.managed_server import ManagedServer, ServerRecord, is_healthy
from phoenix.settings import PhoenixSettings, load_settings

STARTUP_TIMEOUT_S = 30.0
HEALTH_PATH = "/api/v3/meta"


def forge_folder(settings: PhoenixSettings) -> Path:
    return settings.home / "forge"


def forge_server(settings: PhoenixSettings) -> ManagedServer:
    return ManagedServer(forge_folder(settings), "forge", HEALTH_PATH, STARTUP_TIMEOUT_S)


def running_forge(settings: PhoenixSettings) -> ServerRecord | None:
    return forge_server(settings).running()


def web_url_for_port(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def api_url(web_url: str) -> str:
    """PyGithub's `base_url` for a forge at `web_url`."""
    return web_url.rstrip("/") + "/api/v3"


def ensure_forge(settings: PhoenixSettings, announce: bool = True) -> str:
    """The web URL of this home's forge (git at `<url>/<owner>/<repo>.git`, REST at `api_url(url)`),
    starting one in the background if none runs; it keeps running for later commands."""
    server = forge_server(settings)
    record = server.running()
    if record is None:
        with server.start_lock():
            record = server.running()
            if record is None:
                if announce:
                    print(f"phoenix: starting the local forge (logs in {server.log_path}) ...",
                          file=sys.stderr, flush=True)  # fmt: skip
                environment = dict(os.environ) | {"PHOENIX_HOME": str(settings.home)}
                record = server.start(
                    lambda port: [
                        sys.executable,
                        "-P",
                        "-m",
                        "phoenix.forge.server",
                        "--port",
                        str(port),
                    ],
                    environment,
                    web_url_for_port,
                    cwd=forge_folder(settings),
                )
    return record.url


def stop_forge(settings: PhoenixSettings) -> bool:
    return forge_server(settings).stop()


def issue_token(settings: PhoenixSettings, login: str, org: str | None = None) -> dict[str, Any]:
    """A new token for `login`, through the running forge, or written directly when none runs."""
    from fastapi import HTTPException

    from phoenix.forge.app import issue

    server = forge_server(settings)
    with server.start_lock():  # no forge can start (and open the file) while we write it
        record = server.running()
        if record is None:
            store = _open_store(settings)
            try:
                return issue(store, login, org)
            except HTTPException as refused:  # the same refusal the running forge would answer
                raise _refusal(refused.status_code, str(refused.detail)) from None
            finally:
                store.close()
    secret = (forge_folder(settings) / "admin.secret").read_text().strip()
    reply = httpx.post(
        api_url(record.url) + "/_phoenix/tokens",
        json={"user": login, "org": org},
        headers={"X-Phoenix-Forge-Admin": secret},
        timeout=30,
        trust_env=False,
    )
    if reply.status_code != 200:
        raise _refusal(reply.status_code, str(reply.json().get("message")))
    return dict(reply.json())


def _refusal(status: int, message: str) -> PhoenixError:
    """A token the forge will not issue: bad input (a name it cannot take) or a failure."""
    if status in (400, 422):
        return BadInput(f"The forge cannot issue that token: {message}")
    return OperationFailed(f"The forge refused to issue a token: {message}")


def _open_store(settings: PhoenixSettings) -> Any:
    import duckdb

    from phoenix.forge.storage import ForgeStore

    try:
        return ForgeStore(forge_folder(settings) / "forge.duckdb")
    except duckdb.IOException as error:
        raise Conflict(
            "another process holds the forge's state (a forge serving this PHOENIX_HOME?)"
        ) from error


def serve(settings: PhoenixSettings, port: int = 0) -> None:
    """Serve the forge in this process until SIGINT/SIGTERM, recorded under PHOENIX_HOME/forge."""
    import uvicorn

    from phoenix.forge.app import create_app
    from phoenix.forge.ci import CiRunner, ci_enabled

    run_ci = ci_enabled()  # a bad PHOENIX_FORGE_CI fails here, before anything starts
    folder = forge_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    server = forge_server(settings)
    # No start lock here: `ensure_forge` holds it while this runs; DuckDB's own file lock is what
    # stops a second forge of the same home.
    existing = server.running()
    if existing is not None:
        raise Conflict(f"a forge already serves this PHOENIX_HOME at {existing.url}")
    store = _open_store(settings)
    secret_path = folder / "admin.secret"
    secret_path.unlink(missing_ok=True)
    descriptor = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it a response written in two parts waits for
    # the client's delayed ACK, 40 ms a request.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", port))
    port = listener.getsockname()[1]
    url = web_url_for_port(port)
    ci = CiRunner(store, folder / "repos", folder, url) if run_ci else None
    app = create_app(folder, store, secret_path.read_text(), ci)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the record thread's health checks
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn_server = uvicorn.Server(config)
    threading.Thread(target=_record_when_healthy, args=(server, url, port), daemon=True).start()
    print(f"phoenix: forge at {url} (REST {api_url(url)}); Ctrl-C stops it", file=sys.stderr, flush=True)
    if ci is not None:
        ci.start()
    try:
        uvicorn_server.run(sockets=[listener])
    finally:
        if ci is not None:
            ci.stop()  # kills a running build; its run is queued again at the next start
        record = server.read_record()
        if record is not None and record.pid == os.getpid():
            server.record_path.unlink(missing_ok=True)
        store.close()


def _record_when_healthy(server: ManagedServer, url: str, port: int) -> None:
    import time

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not is_healthy(url + HEALTH_PATH, timeout_s=1.0):
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)
    server.write_record(ServerRecord(pid=os.getpid(), port=port, url=url, started_at=time.time()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phoenix.forge.server")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with contextlib.suppress(KeyboardInterrupt):
        serve(load_settings(), options.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
