"""Phoenix's capability flows, one module per capability: router, propose, memory, speak, ...

`run_flow` is how the shell (the CLI and the HTTP API) runs a flow by its Prefect name and waits for
its result.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

# Prefect flow name -> "module:callable" of what the shell calls for it.
INTERACTIVE_FLOWS = {
    "router": "flows.router:router",
    "memory": "flows.memory:memory",
    "speak": "flows.speak:speak",
    "propose-improvements": "flows.propose:run_propose",
    "import-and-build-repo": "flows.ecosystem:import_and_build_repo",
    "ecosystem-command": "flows.ecosystem:ecosystem_command",
}


def run_flow(name: str, parameters: dict[str, Any]) -> Any:
    """Run the flow `name` in this process and return its result.

    A flow's heartbeat thread makes each synchronous call wait up to a second when it ends; these
    runs are short and watched by their caller, so the shell runs them without heartbeats.
    """
    from prefect.exceptions import ParameterTypeError, SignatureMismatchError

    from phoenix.errors import NotFound, UsageError

    if name not in INTERACTIVE_FLOWS:
        raise NotFound(f"No flow named {name!r}; choose one of {', '.join(INTERACTIVE_FLOWS)}")
    module_name, _, attribute = INTERACTIVE_FLOWS[name].partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    try:
        inspect.signature(function).bind(**parameters)
    except TypeError as error:
        raise UsageError(f"Bad parameters for {name}: {error}") from None
    with without_heartbeats():
        try:
            return function(**parameters)
        except (ParameterTypeError, SignatureMismatchError) as error:
            raise UsageError(f"Bad parameters for {name}: {error}") from None


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
