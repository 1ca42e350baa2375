"""The local Phoenix service: a warm process that runs flows for the CLI.

Importing Prefect costs a new process 1.5–2.5 s here, more than a typed command may take in all.  So
the first `phoenix` command of a PHOENIX_HOME starts Phoenix's HTTP API in the background (saying so
on stderr), and each later command sends its flow run there over loopback, with the home's bearer
token, and prints what comes back: the flow runs in a process where Prefect is already loaded and
connected.  It is the "one owner process that the others call" of DESIGN.md §3.

The service must run flows exactly as the command would have run them itself.  It is started with the
command's environment and labelled with a keyed hash of the variables that configure Phoenix; a
command whose environment differs (another `PHOENIX_LLM_MODEL`, say) runs its flow in its own process
instead, and a service started from older code is replaced.  `PHOENIX_CLI_IN_PROCESS=1` always runs
in-process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from phoenix import __version__
from phoenix.api_token import resolve_api_token
from phoenix.errors import OperationFailed, PhoenixError, error_class_for
from phoenix.managed_server import ManagedServer
from phoenix.settings import PhoenixSettings, load_settings

STARTUP_TIMEOUT_S = 180.0
PACKAGES = ("phoenix", "flows", "tasks", "blocks")

# Variables that change what a flow does: they must be the same in the command and the service.
CONFIG_PREFIXES = ("PHOENIX_", "PREFECT_", "GITHUB_", "LITELLM_", "STABLE_DIFFUSION_", "TTS_")
CONFIG_NAMES = frozenset(
    {
        "REQUIRE_HUMAN_PR_APPROVAL",
        "MANDATE_GITHUB_CI",
        "TESTING_MANDATORY",
        "BASE_BRANCH",
        "CAOS_FREE_TIER",
        "X402_ENABLED",
        "SIMULATED_TOOLS_MOCK",
        "OPENAI_API_KEY",
    }
)


def settings_fingerprint(environ: Mapping[str, str], key: str) -> str:
    """A keyed hash of the configuring variables (secrets included, never stored in clear)."""
    relevant = sorted(
        (name, value)
        for name, value in environ.items()
        if (name.startswith(CONFIG_PREFIXES) or name in CONFIG_NAMES)
        and name != "PHOENIX_CLI_IN_PROCESS"
    )
    payload = json.dumps(relevant).encode()
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def code_fingerprint() -> str:
    """Changes whenever Phoenix's code does (an upgrade, or an edit in a development checkout)."""
    root = Path(__file__).resolve().parent.parent
    newest, count = 0.0, 0
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            newest = max(newest, path.stat().st_mtime)
            count += 1
    return f"{__version__}:{count}:{newest:.6f}"


def service(settings: PhoenixSettings) -> ManagedServer:
    return ManagedServer(settings.home / "run", "phoenix-api", "/api/health", STARTUP_TIMEOUT_S)


class ServiceClient:
    """Runs flows on the local Phoenix service."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    def run_flow(self, name: str, parameters: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - http on loopback
            f"{self.url}/api/flows/{name}/run",
            data=json.dumps(parameters).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310 - http on loopback
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise _error_from_response(error) from None
        except urllib.error.URLError as error:
            raise OperationFailed(f"The local Phoenix service did not answer: {error}") from None


def _error_from_response(error: urllib.error.HTTPError) -> PhoenixError:
    try:
        body = json.loads(error.read())
        message, code = str(body["message"]), str(body.get("code", "failed"))
    except (ValueError, KeyError, TypeError):
        return OperationFailed(f"The local Phoenix service answered HTTP {error.code}")
    failure = error_class_for(code)(message)
    failure.code = code
    return failure


def connect(settings: PhoenixSettings, environ: Mapping[str, str]) -> ServiceClient | None:
    """A client of this home's service, started if needed; None when the flow must run here."""
    if environ.get("PHOENIX_CLI_IN_PROCESS", "").lower() in ("1", "true", "yes"):
        return None
    token, _ = resolve_api_token(settings)
    wanted = {"settings": settings_fingerprint(environ, token), "code": code_fingerprint()}
    server = service(settings)
    record = server.running()
    if record is None or record.labels.get("code") != wanted["code"]:
        with server.start_lock():
            record = server.running()
            if record is not None and record.labels.get("code") != wanted["code"]:
                server.stop()  # started from older code: replace it
                record = None
            if record is None:
                print(
                    "phoenix: starting the local Phoenix service (once; later commands reuse it —"
                    f" logs in {server.log_path}) ...",
                    file=sys.stderr,
                    flush=True,
                )
                record = server.start(
                    lambda port: [sys.executable, "-m", "phoenix.daemon", "--port", str(port)],
                    dict(environ),
                    lambda port: f"http://127.0.0.1:{port}",
                    labels=wanted,
                )
    if record.labels.get("settings") != wanted["settings"]:
        print(
            "phoenix: this shell's Phoenix settings differ from the running service's; "
            "running in this process (slower)",
            file=sys.stderr,
            flush=True,
        )
        return None
    return ServiceClient(record.url, token)


def stop(settings: PhoenixSettings) -> bool:
    return service(settings).stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m phoenix.daemon --port P`: the service itself."""
    import argparse

    from phoenix.prefect_server import ensure_prefect_api

    parser = argparse.ArgumentParser(description="The local Phoenix service")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    settings = load_settings()
    ensure_prefect_api(settings)
    from phoenix.api.server import serve_api

    serve_api(host="127.0.0.1", port=options.port)


if __name__ == "__main__":
    main()
