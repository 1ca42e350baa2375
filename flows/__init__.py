"""Phoenix's capability flows, one module per capability: router, propose, memory, speak, ...

`run_flow` is how the shell (the CLI and the HTTP API) runs a flow by its Prefect name and waits for
its result.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Prefect flow name -> "module:callable" of what the shell calls for it.
INTERACTIVE_FLOWS = {
    "router": "flows.router:router",
    "memory": "flows.memory:memory",
    "speak": "flows.speak:speak",
    "propose-improvements": "flows.propose:run_propose",
    "import-and-build-repo": "flows.ecosystem:import_and_build_repo",
    "ecosystem-command": "flows.ecosystem:ecosystem_command",
    "service-health": "flows.service_health:service_health",
    "spawn-agent": "flows.spawn_agent:spawn_agent",
    "agents": "flows.agents:agents",
    "tools": "flows.tools:tools",
    "tool-agent": "flows.tool_agent:tool_agent",
    "collaborate": "flows.collaborate:collaborate",
    "system": "flows.system:system",
}


def run_flow(name: str, parameters: dict[str, Any]) -> Any:
    """Run the flow `name` in this process and return its result.

    A flow's heartbeat thread makes each synchronous call wait up to a second when it ends; these
    runs are short and watched by their caller, so the shell runs them without heartbeats.

    The run belongs to a cancel scope (`phoenix.cancellation`): the caller's, or a new one that the
    first Ctrl-C cancels when this is the main thread.  A run that ends cancelled, or fails because
    it was, raises `RunCancelled`.
    """
    from prefect.exceptions import CancelledRun, ParameterTypeError, SignatureMismatchError

    from phoenix import cancellation
    from phoenix.errors import NotFound, UsageError

    if name not in INTERACTIVE_FLOWS:
        raise NotFound(f"No flow named {name!r}; choose one of {', '.join(INTERACTIVE_FLOWS)}")
    module_name, _, attribute = INTERACTIVE_FLOWS[name].partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    try:
        inspect.signature(function).bind(**parameters)
    except TypeError as error:
        raise UsageError(f"Bad parameters for {name}: {error}") from None
    # A token in a source URL must not become a flow-run parameter (Prefect's database, UI, logs):
    # the flow gets the clean URL, and the token reaches `resolve_source` in this process only.
    from phoenix.ecosystem.source import credentials_out_of_band

    parameters, handover = credentials_out_of_band(name, parameters)
    if name == "router" and isinstance(parameters.get("command"), str):
        from phoenix.commands import check_router_text

        check_router_text(parameters["command"])
    scope = cancellation.current_scope() or cancellation.CancelScope()
    with (
        handover,
        without_heartbeats(),
        reused_prefect_client(),
        cancellation.entered(scope),
        cancellation.cancel_on_sigint(scope),
    ):
        try:
            return function(**parameters)
        except (ParameterTypeError, SignatureMismatchError) as error:
            raise UsageError(f"Bad parameters for {name}: {error}") from None
        except CancelledRun:
            raise cancellation.RunCancelled(f"The {name} flow run was cancelled.") from None
        except Exception:
            if scope.cancelled:  # what failed is what the cancellation stopped
                raise cancellation.RunCancelled(f"The {name} flow run was cancelled.") from None
            raise


class _WithoutTraceback(logging.Formatter):
    """The console's own format, minus the traceback: the record keeps it for the other handlers."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def _not_a_repeated_failure(record: logging.LogRecord) -> bool:
    """Drop a failed task run's "Finished in state Failed(...)": its failure was just printed."""
    return not (
        record.name.startswith("prefect.task_runs")
        and record.levelno >= logging.ERROR
        and record.getMessage().startswith("Finished in state")
    )


def one_line_per_failure_on_console() -> None:
    """A command that runs its flow in its own process prints one line per failed task run.

    Prefect's console handler prints each failed task run as a traceback and again as its final
    state: a propose whose ORCHs all fail would bury its one JSON document under screens of them.
    Only the console changes; the API handler still sends the whole record (traceback included)
    to the run's logs in the Prefect UI.
    """
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.logging.handlers import PrefectConsoleHandler

    ensure_logging_setup()  # Prefect's handlers exist from here on
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not isinstance(
            handler.formatter, _WithoutTraceback
        ):
            handler.setFormatter(_WithoutTraceback(handler.formatter))
            handler.addFilter(_not_a_repeated_failure)


_clients = threading.local()


@contextmanager
def reused_prefect_client() -> Iterator[None]:
    """Flow runs of this thread share one Prefect API client instead of making one each.

    A flow run that finds no client context makes a client for itself and closes it at the end:
    a new connection to the server and a new TLS context — about 25 ms here to load the CA bundle,
    even for a plain-http server, whatever `PREFECT_API_TLS_INSECURE_SKIP_VERIFY` says.  A shell
    thread (the local service's, the API's) runs one flow after another, so it keeps one client
    context per thread and API URL, opened once and never closed, and hands it to each run.
    """
    from prefect.context import SyncClientContext
    from prefect.settings import PREFECT_API_URL

    if SyncClientContext.get() is not None:  # a flow run of this thread already has one
        yield
        return
    api_url = PREFECT_API_URL.value()
    context = getattr(_clients, "context", None)
    if context is None or getattr(_clients, "api_url", None) != api_url:
        context = SyncClientContext()
        with context:  # enters the client (and checks the server's version, once per process)
            context._context_stack += 1  # ... and leaves it open when the block ends
        _clients.context, _clients.api_url = context, api_url
    token = SyncClientContext.__var__.set(context)
    try:
        yield
    finally:
        SyncClientContext.__var__.reset(token)


_heartbeatless: dict[int, tuple[Any, Any]] = {}


def without_heartbeats() -> Any:
    """Prefect's current settings with heartbeats off, as a settings context.

    `prefect.settings.temporary_settings` does the same but builds a new Settings object each time
    (70–140 ms here), so the adjusted settings are made once per base settings and reused.
    """
    import prefect.context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    context = prefect.context.get_settings_context()
    base, adjusted = _heartbeatless.get(id(context.settings), (None, None))
    if base is not context.settings:
        adjusted = context.settings.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
        _heartbeatless[id(context.settings)] = (context.settings, adjusted)
    return prefect.context.SettingsContext(profile=context.profile, settings=adjusted)
