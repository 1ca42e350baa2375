"""service-health: reconcile every supervised service with the OS and apply its restart policy.

A service's status is asked of the operating system whenever someone looks, but nobody may look
for hours: this flow is what a schedule runs (`PHOENIX_HEALTH_EVERY`, served by `phoenix serve`),
so a service that crashed is recorded as such and, when its policy is `on-failure`, started again
within one interval.  Each run leaves a table of what it found in the Prefect UI.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.ecosystem import current_repos
from phoenix.settings import load_settings
from tasks.services import check_service, publish_service_health


def _was_started(command: list[str] | None) -> bool:
    """Services that ran, or still run, under Phoenix; never-started ones have nothing to check."""
    return bool(command)


@flow(name="service-health", flow_run_name="service-health", validate_parameters=True)
def service_health(restart: bool = True) -> dict[str, Any]:
    """Check every service Phoenix started; restart the ended ones whose policy says so.

    Args:
        restart: apply each service's restart policy (`ecosystem ID restart-policy on-failure 3`);
            false only records what is running and what has ended.
    """
    home = load_settings().home
    candidates = [r for r in current_repos(None) if _was_started(r.service_command)]
    found = [check_service(record, home, restart) for record in candidates]
    if found:
        publish_service_health(found)
    return {
        "checked": len(found),
        "running": sum(item.status == "Running" for item in found),
        "restarted": [item.id for item in found if item.restarted],
        "items": [item.model_dump() for item in found],
    }
