"""The local Phoenix service: a warm process that runs flows for the CLI.

Importing Prefect costs a new process 1.5–2.5 s here, more than a typed command may take in all.  So
the first `phoenix` command of a PHOENIX_HOME starts Phoenix's HTTP API in the background (saying so
on stderr), and each later command sends its flow run there over loopback, with the home's bearer
token, and prints what comes back: the flow runs in a process where Prefect is already loaded and
connected.  It is the "one owner process that the others call" of docs/design.md ("The local
Phoenix service").

The service must run flows exactly as the command would have run them itself, and nothing more: it
gets the environment it needs and nothing else (`service_environment`: the basics a process and a
toolchain need, the variables that configure Phoenix, Prefect and git, and the LLM providers' keys),
so a stray variable of the shell that happened to start it (`MAKELEVEL` from `make demo`) never
reaches a later repository command.  It is labelled with a keyed hash of that environment; a command
whose environment differs (another `PHOENIX_LLM_MODEL`, another PATH) runs its flow in its own
process instead, and a service started from older code is replaced.  It runs with `python -P` in its
own folder, so a `phoenix/` folder where the command was typed cannot shadow the installed package.
`PHOENIX_CLI_IN_PROCESS=1` always runs in-process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from phoenix import __version__
from phoenix.api_token import resolve_api_token
from phoenix.ecosystem.environment import without_own_virtualenv
from phoenix.errors import OperationFailed, PhoenixError, error_class_for
from phoenix.managed_server import ManagedServer, ServerRecord, pid_alive
from phoenix.settings import PhoenixSettings, load_settings

STARTUP_TIMEOUT_S = 180.0
HEALTH_TIMEOUT_S = 5.0
PACKAGES = ("phoenix", "flows", "tasks", "blocks")

# Variables that change what a flow does: they must be the same in the command and the service.
# `PG*`: libpq's own variables (PGPASSWORD, PGPASSFILE, PGSSLMODE, ...), how the shared store's
# catalog gets a password that never goes in PHOENIX_STORE_URL.  Repositories never see them.
CONFIG_PREFIXES = (
    "PHOENIX_", "PREFECT_", "GITHUB_", "LITELLM_", "STABLE_DIFFUSION_", "TTS_", "PG",
)  # fmt: skip
CONFIG_NAMES = frozenset(
    {
        "REQUIRE_HUMAN_PR_APPROVAL",
        "MANDATE_GITHUB_CI",
        "TESTING_MANDATORY",
        "BASE_BRANCH",
        "PR_APPROVAL_TIMEOUT_HOURS",
        "CAOS_FREE_TIER",
        "X402_ENABLED",
        "SIMULATED_TOOLS_MOCK",
        "OPENAI_API_KEY",
    }
)
# What litellm reads to reach a provider (keys, endpoints, cloud credentials).
PROVIDER_PREFIXES = (
    "OPENAI_", "ANTHROPIC_", "AZURE_", "AWS_", "GEMINI_", "GOOGLE_", "VERTEXAI_", "VERTEX_",
    "MISTRAL_", "COHERE_", "GROQ_", "OLLAMA_", "HUGGINGFACE_", "HF_", "OPENROUTER_", "DEEPSEEK_",
    "XAI_", "TOGETHERAI_", "TOGETHER_", "FIREWORKS_", "REPLICATE_", "PERPLEXITYAI_", "DATABRICKS_",
    "WATSONX_", "CLOUDFLARE_", "NVIDIA_NIM_", "CEREBRAS_", "SAMBANOVA_", "DEEPINFRA_", "VOYAGE_",
    "AI21_", "ANYSCALE_", "HOSTED_VLLM_", "LM_STUDIO_",
)  # fmt: skip
# What any process, git and a toolchain need to find themselves, the network and their caches.
BASIC_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
        "TMPDIR", "TEMP", "TMP", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
        "http_proxy", "https_proxy", "no_proxy", "all_proxy",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "SSH_AUTH_SOCK", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSL_CAINFO",
        "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
        "JAVA_HOME", "CARGO_HOME", "RUSTUP_HOME", "GOPATH", "GOROOT", "GOCACHE", "GOMODCACHE",
        "NVM_DIR", "ANDROID_HOME",
    }
)  # fmt: skip
BASIC_PREFIXES = ("LC_",)
# Passed on, but not part of the fingerprint: they change with every login, not with the settings.
UNFINGERPRINTED = frozenset({"SSH_AUTH_SOCK", "PHOENIX_CLI_IN_PROCESS"})


def wanted_by_service(name: str) -> bool:
    """Whether the service gets the variable `name` (an allow-list: anything else stays out)."""
    return (
        name in BASIC_NAMES
        or name in CONFIG_NAMES
        or name.startswith(BASIC_PREFIXES + CONFIG_PREFIXES + PROVIDER_PREFIXES)
    ) and name != "PHOENIX_CLI_IN_PROCESS"


def service_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the service runs with: the allow-listed part of the command's.

    Phoenix's own virtualenv is dropped from PATH: the service runs its interpreter by path, and
    whether the shell activated the virtualenv must not change the service (nor start a second one).
    """
    environment = {name: value for name, value in environ.items() if wanted_by_service(name)}
    if "PATH" in environment:
        environment["PATH"] = without_own_virtualenv(environment["PATH"])
    return environment


CLI_LOG_LEVEL = "WARNING"
"""What `phoenix` sets PREFECT_LOGGING_LEVEL to in its own process when the shell did not."""


def as_the_shell_had_it(settings: PhoenixSettings, environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without what Phoenix sets in its own processes: its Prefect defaults, its Prefect
    server's URL and the CLI's log level, each where it still has Phoenix's value.

    A flow that starts the service (the spawn, for its enforcer) runs in a process where these are
    set; a command typed later has none of them.  Both must ask for the same service, or every
    later command would run in its own process instead.
    """
    from phoenix.prefect_server import prefect_environment, prefect_server

    shell = dict(environ)
    ours = prefect_environment(settings) | {"PREFECT_LOGGING_LEVEL": CLI_LOG_LEVEL}
    record = prefect_server(settings).read_record()
    if record is not None:
        ours["PREFECT_API_URL"] = record.url
    for name, value in ours.items():
        if shell.get(name) == value:
            del shell[name]
    return shell


def settings_fingerprint(environ: Mapping[str, str], key: str) -> str:
    """A keyed hash of the service's environment (secrets included, never stored in clear)."""
    relevant = sorted(
        (name, value)
        for name, value in service_environment(environ).items()
        if name not in UNFINGERPRINTED
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
    """Runs flows on the local Phoenix service over loopback HTTP.

    Connecting and sending time out in seconds; waiting for the result does not, because a flow run
    may rightly take minutes (a propose with hundreds of ORCHs, a build).  A hung service is caught
    before that, by the health check `connect` makes (HEALTH_TIMEOUT_S), and Ctrl-C ends the wait.
    """

    TIMEOUT = httpx.Timeout(connect=5.0, read=None, write=30.0, pool=5.0)

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    def run_flow(self, name: str, parameters: dict[str, Any]) -> Any:
        try:
            response = httpx.post(
                f"{self.url}/api/flows/{name}/run",
                json=parameters,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.TIMEOUT,
                trust_env=False,  # loopback: never through the user's proxy
            )
        except httpx.HTTPError as error:
            raise OperationFailed(f"The local Phoenix service did not answer: {error}") from None
        if response.is_success:
            return response.json()
        return _failure_from_response(response)


def _failure_from_response(response: httpx.Response) -> dict[str, Any]:
    """A failed result is returned as it is (its data kept); any other error is raised."""
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("type") == "error" and body.get("code"):
            return body
        message, code = str(body["message"]), str(body.get("code", "failed"))
    except (ValueError, KeyError, TypeError):
        raise OperationFailed(
            f"The local Phoenix service answered HTTP {response.status_code}"
        ) from None
    failure: PhoenixError = error_class_for(code)(message)
    failure.code = code
    raise failure


def connect(settings: PhoenixSettings, environ: Mapping[str, str]) -> ServiceClient | None:
    """A client of this home's service, started if needed; None when the flow must run here."""
    if environ.get("PHOENIX_CLI_IN_PROCESS", "").lower() in ("1", "true", "yes"):
        return None
    environ = as_the_shell_had_it(settings, environ)
    token, _ = resolve_api_token(settings)
    wanted = {"settings": settings_fingerprint(environ, token), "code": code_fingerprint()}
    record = ensure_service(settings, environ)
    if record.labels.get("settings") != wanted["settings"]:
        print(
            "phoenix: this shell's environment differs from the running service's; running in this"
            " process (slower). `phoenix server stop` lets the next command restart the service"
            " with this environment.",
            file=sys.stderr,
            flush=True,
        )
        return None
    return ServiceClient(record.url, token)


def ensure_service(settings: PhoenixSettings, environ: Mapping[str, str]) -> ServerRecord:
    """This home's service, started with `environ`'s service environment if none runs (or one of
    older code), whatever PHOENIX_CLI_IN_PROCESS says: the enforcer's runner lives there."""
    environ = as_the_shell_had_it(settings, environ)
    token, _ = resolve_api_token(settings)
    wanted = {"settings": settings_fingerprint(environ, token), "code": code_fingerprint()}
    server = service(settings)
    record = server.running(HEALTH_TIMEOUT_S)
    if record is None or record.labels.get("code") != wanted["code"]:
        with server.start_lock():
            record = server.running(HEALTH_TIMEOUT_S)
            if record is not None and record.labels.get("code") != wanted["code"]:
                server.stop()  # started from older code: replace it
                record = None
            if record is None:
                _replace_or_refuse_a_hung_service(server, wanted["code"])
                print(
                    "phoenix: starting the local Phoenix service (once; later commands reuse it —"
                    f" logs in {server.log_path}) ...",
                    file=sys.stderr,
                    flush=True,
                )
                record = server.start(
                    # -P: the folder the command runs in is not on sys.path (no shadowing).
                    lambda port: [sys.executable, "-P", "-m", "phoenix.daemon", "--port", str(port)],
                    service_environment(environ),
                    lambda port: f"http://127.0.0.1:{port}",
                    labels=wanted,
                    cwd=server.folder,
                )
    return record


def _replace_or_refuse_a_hung_service(server: ManagedServer, code: str) -> None:
    """A recorded service whose process lives but does not answer is hung.

    One started from older code is replaced anyway; otherwise the command says what to do rather
    than stop a service that may only be slow (another command's flow may be running there).
    """
    stale = server.read_record()
    if stale is not None and pid_alive(stale.pid) and stale.labels.get("code") != code:
        server.stop()
    elif stale is not None and pid_alive(stale.pid):
        raise OperationFailed(
            f"The local Phoenix service (pid {stale.pid}) is running but does not answer its"
            f" health check within {HEALTH_TIMEOUT_S:g} s; see {server.log_path}, then stop it"
            " with `phoenix server stop` (the next command starts a new one)."
        )


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
    from phoenix.enforcer_host import start_enforcer_host

    start_enforcer_host()  # waiting enforce-pr runs resume here (threads; the API is not delayed)
    serve_api(host="127.0.0.1", port=options.port, local_imports=True)  # the CLI's own caller


if __name__ == "__main__":
    main()
