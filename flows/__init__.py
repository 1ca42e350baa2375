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
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from phoenix.errors import NotFound, UsageError

    if name not in INTERACTIVE_FLOWS:
        raise NotFound(f"No flow named {name!r}; choose one of {', '.join(INTERACTIVE_FLOWS)}")
    module_name, _, attribute = INTERACTIVE_FLOWS[name].partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    try:
        inspect.signature(function).bind(**parameters)
    except TypeError as error:
        raise UsageError(f"Bad parameters for {name}: {error}") from None
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        try:
            return function(**parameters)
        except (ParameterTypeError, SignatureMismatchError) as error:
            raise UsageError(f"Bad parameters for {name}: {error}") from None
