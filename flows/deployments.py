"""Every flow of Phoenix as a deployment, `<flow-name>/phoenix`, for `phoenix serve` to serve.

Served deployments are how the Prefect UI's "Run" button, a schedule, a `POST` to Prefect's REST
API and Phoenix's own asynchronous API calls get a flow run executed.  `prefect.yaml` declares the
same deployments for `prefect deploy --all` and workers on other machines.

A flow added to Phoenix gets its deployment by one line in `SERVED_FLOWS`; the flow's typed
signature and the `Args:` section of its docstring become the form the UI renders.  Entrypoints are
module paths (`flows.router.router`), so a runner finds the flows wherever Phoenix is installed,
whatever its working directory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from phoenix.schedules import HEALTH_DEPLOYMENT, PROPOSE_DEPLOYMENT, ScheduleSettings

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

DEPLOYMENT_NAME = "phoenix"

RESULT_SETTINGS = {
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    "PREFECT_TASKS_DEFAULT_PERSIST_RESULT": "false",
}
"""How deployment runs keep their flow's result and not their tasks' (also in `prefect.yaml`)."""
TAGS = ["phoenix"]

# Prefect flow name -> "module:attribute" of the flow object.
SERVED_FLOWS = {
    "router": "flows.router:router",
    "propose-improvements": "flows.propose:propose_improvements",
    "memory": "flows.memory:memory",
    "speak": "flows.speak:speak",
    "import-and-build-repo": "flows.ecosystem:import_and_build_repo",
    "ecosystem-command": "flows.ecosystem:ecosystem_command_flow",
    "service-health": "flows.service_health:service_health",
    "enforce-pr": "flows.enforce_pr:enforce_pr",
    "spawn-agent": "flows.spawn_agent:spawn_agent",
    "agents": "flows.agents:agents",
    "tools": "flows.tools:tools",
    "tool-agent": "flows.tool_agent:tool_agent",
    "collaborate": "flows.collaborate:collaborate",
    "system": "flows.system:system",
}


def load_flow(name: str) -> Flow[..., object]:
    module_name, _, attribute = SERVED_FLOWS[name].partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _deployment(flow: Flow[..., object], name: str, **options: object) -> RunnerDeployment:
    from prefect.types.entrypoint import EntrypointType

    return flow.to_deployment(
        name=name,
        tags=TAGS,
        description=options.pop("description", None) or _first_line(flow.description),
        entrypoint_type=EntrypointType.MODULE_PATH,
        **options,  # type: ignore[arg-type]  # schedules and parameters, as to_deployment takes them
    )


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0] if text and text.strip() else None


def phoenix_deployments(schedules: ScheduleSettings) -> list[RunnerDeployment]:
    """One deployment per flow, plus the scheduled variants `schedules` configures."""
    deployments = [_deployment(load_flow(name), DEPLOYMENT_NAME) for name in SERVED_FLOWS]
    if schedules.health_every is not None:
        deployments.append(
            _deployment(
                load_flow("service-health"),
                HEALTH_DEPLOYMENT,
                interval=schedules.health_every,
                description=f"Reconcile services and apply restart policies every "
                f"{schedules.health_every:g} s.",
            )  # fmt: skip
        )
    if schedules.propose_cron is not None:
        from prefect.schedules import Cron

        deployments.append(
            _deployment(
                load_flow("propose-improvements"),
                PROPOSE_DEPLOYMENT,
                schedules=[Cron(schedules.propose_cron, timezone=schedules.propose_timezone)],
                parameters={"seed": schedules.propose_seed, "n": schedules.propose_n},
                description=f"{schedules.propose_n} ORCHs propose improvements on a schedule.",
            )  # fmt: skip
        )
    return deployments


def serve_deployments(
    schedules: ScheduleSettings, limit: int | None, poll_s: float, announce: bool = True
) -> list[str]:
    """Serve Phoenix's deployments from this process until Ctrl-C or SIGTERM.

    Each run executes in a subprocess of this one, with this process's environment (the
    `PHOENIX_*` settings).  On the way out the runner pauses the schedules it served, so nothing
    scheduled piles up for a runner that is gone; the next `phoenix serve` resumes them.

    A served run keeps its flow's result (in Prefect's result storage, under `PREFECT_HOME`), so
    whoever started it — `GET /api/runs/{id}`, `phoenix runs show` — can read it from another
    process; task results are not kept, which saves a file per ORCH.

    Returns the `flow/deployment` names that were served.
    """
    import os

    from prefect import serve

    for name, value in RESULT_SETTINGS.items():
        os.environ.setdefault(name, value)  # inherited by every run's subprocess

    deployments = phoenix_deployments(schedules)
    serve(*deployments, limit=limit, query_seconds=poll_s, print_starting_message=announce)
    return [f"{d.flow_name}/{d.name}" for d in deployments]
