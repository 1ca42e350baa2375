"""Prefect's API server, started once by Phoenix and reused by every later process.

With no `PREFECT_API_URL`, each new Python process would start Prefect's ephemeral server — 5 to
12 s per process (docs/design.md, "Prefect"). Instead the first process that needs Prefect starts
`prefect server start` in the background (saying so on stderr) and leaves it running; later ones
find it under `PHOENIX_HOME/prefect/` and pay nothing. It is Prefect's real server, so its UI shows
every run: the UI is told the server's own address (`PREFECT_UI_API_URL`), which it would otherwise
take to be Prefect's default port 4200. A `PREFECT_API_URL` set by the user always wins.

This module must not import Prefect: it runs before Prefect reads its settings.
"""

from __future__ import annotations

import os
import sys

from phoenix.managed_server import ManagedServer, ServerRecord
from phoenix.settings import PhoenixSettings

STARTUP_TIMEOUT_S = 120.0


def prefect_environment(settings: PhoenixSettings) -> dict[str, str]:
    """Prefect settings Phoenix wants in every process, unless the user chose otherwise."""
    return {
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        # litellm fetches a price map from the internet at import unless told not to.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        # Each task run sends 3 state events; by default the server writes each in a transaction
        # of its own (batch size 1), about 35 ms of server CPU per ORCH here.  Batched, states
        # reach the UI within a second and cost a quarter of that (bench/propose.py).
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
        # "Finished in state Completed()" of every task run, shipped to the API as a log line:
        # the UI shows task runs' states anyway; their warnings and errors are still shipped.
        "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "WARNING",
    }


def configure_environment(settings: PhoenixSettings) -> None:
    """Set Phoenix's Prefect defaults in this process's environment (before Prefect is imported)."""
    for name, value in prefect_environment(settings).items():
        os.environ.setdefault(name, value)


def prefect_server(settings: PhoenixSettings) -> ManagedServer:
    return ManagedServer(settings.prefect_home, "server", "/health", STARTUP_TIMEOUT_S)


def running_server(settings: PhoenixSettings) -> ServerRecord | None:
    return prefect_server(settings).running()


def ensure_prefect_api(settings: PhoenixSettings, announce: bool = True) -> str:
    """The API URL of a running Prefect server, starting Phoenix's own if there is none.

    Also sets `PREFECT_API_URL` in this process's environment, so that Prefect, imported afterwards,
    talks to that server.
    """
    configure_environment(settings)
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    server = prefect_server(settings)
    record = server.running()
    if record is None:
        with server.start_lock():
            record = server.running()
            if record is None:
                if announce:
                    print(
                        "phoenix: starting a local Prefect server (once; it keeps running for later"
                        f" commands — logs in {server.log_path}) ...",
                        file=sys.stderr,
                        flush=True,
                    )
                environment = dict(os.environ) | prefect_environment(settings)
                environment.pop("PREFECT_API_URL", None)
                record = server.start(server_command, environment, api_url_for_port)
                if announce:
                    print(f"phoenix: Prefect UI at {ui_url(record.url)}", file=sys.stderr, flush=True)
    os.environ["PREFECT_API_URL"] = record.url
    return record.url


def api_url_for_port(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def ui_url(api_url: str) -> str:
    """The address of the Prefect UI served beside the API at `api_url`."""
    return api_url.removesuffix("/").removesuffix("/api")


def server_command(port: int) -> list[str]:
    """`prefect server start` on `port`, its UI pointed at that port.

    The UI asks the server where the API is (`/ui-settings`, from `PREFECT_UI_API_URL`); left
    unset, the answer is built from Prefect's default port, not the one given by `--port`, and
    every page says "Can't connect to Server API at http://127.0.0.1:4200/api".  The port is
    chosen when the server starts, so the variable is set on the command line, through env(1).
    """
    return [
        "env",
        f"PREFECT_UI_API_URL={api_url_for_port(port)}",
        sys.executable,
        "-P",  # the caller's folder never shadows the installed packages (a `prefect/` there, say)
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def stop_server(settings: PhoenixSettings) -> bool:
    """Stop Phoenix's own Prefect server (never one the user runs); True if one was running."""
    return prefect_server(settings).stop()
