"""Tasks that supervise a repository's service: start, reconcile with the OS, stop, read its log.

The process management itself is `phoenix.ecosystem.services`; these tasks keep DuckDB in step with
it.  A status is never trusted from the database alone: every read asks the operating system, so a
service that died (or was killed, or whose machine restarted) shows Exited with its exit code.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from phoenix.ecosystem import services
from phoenix.ecosystem.discover import analyze_repo
from phoenix.ecosystem.restart import decide, parse_policy
from phoenix.errors import BadInput, PhoenixError
from phoenix.store import open_store
from phoenix.store import repos as repo_store
from phoenix.store.repos import RepoRecord
from tasks.build import command_environment, existing_venv


def reconcile(record: RepoRecord) -> RepoRecord:
    """The record with its service status as the operating system sees it now (and stored so)."""
    if record.service_status != "Running" or record.pid is None:
        return record
    log = Path(record.service_log) if record.service_log else None
    state = services.service_state(record.pid, record.service_start_ticks, log)
    if state.status == "Running":
        return record
    # The port stays on the record: a restart by the service's policy (`service-health`) gives
    # the service the port its command line was written for.
    return repo_store.set_service(
        open_store(), record.id, state.status, port=record.port, exit_code=state.exit_code,
        log=record.service_log,
    )  # fmt: skip


@task(name="reconcile-services", cache_policy=NO_CACHE)
def reconcile_services(records: list[RepoRecord]) -> list[RepoRecord]:
    return [reconcile(record) for record in records]


@task(name="start-service", cache_policy=NO_CACHE)
def start_repo_service(record: RepoRecord, home: Path, command: str | None) -> RepoRecord:
    """Start the repository's start command (or the discovered `command`) as a service on $PORT."""
    record = reconcile(record)
    services.ensure_not_running(
        record.pid if record.service_status == "Running" else None,
        record.service_start_ticks,
        f"{record.name} ({record.id})",
    )
    repo = Path(record.local_path)
    if command:
        argv = analyze_repo(repo).resolve(command).argv
    elif record.start_command:
        argv = record.start_command
    else:
        raise BadInput(
            f"{record.name} has no start command: name one of its commands (phoenix ecosystem show)"
        )
    environment = command_environment(home, record.id, repo, existing_venv(home, record.id))
    log_path = home / "logs" / record.id / "service.log"
    process = services.start_service(argv, repo, log_path, env=environment)
    store = open_store()
    repo_store.reset_restarts(store, record.id)  # a start by hand gives the policy its full limit
    return repo_store.set_service(
        store, record.id, "Running", pid=process.pid, port=process.port,
        start_ticks=process.start_ticks, log=str(log_path), command=process.argv, started=True,
    )  # fmt: skip


@task(name="stop-service", cache_policy=NO_CACHE)
def stop_repo_service(record: RepoRecord, grace_s: float = 10.0) -> RepoRecord:
    """SIGTERM to the service's process group, SIGKILL after the grace period; no orphans."""
    record = reconcile(record)
    if record.service_status != "Running" or record.pid is None:
        return record
    exit_code = services.stop_service(
        record.pid,
        record.pid,  # the service leads its own process group
        grace_s=grace_s,
        start_ticks=record.service_start_ticks,
        log_path=Path(record.service_log) if record.service_log else None,
    )
    return repo_store.set_service(open_store(), record.id, "Stopped", exit_code=exit_code)


@task(name="service-log", cache_policy=NO_CACHE)
def service_log(record: RepoRecord, lines: int = 100) -> str:
    if not record.service_log:
        return ""
    return services.tail(Path(record.service_log), lines)


class ServiceHealth(BaseModel):
    """One service as the health check found it, and what it did about it."""

    id: str
    name: str
    status: str
    exit_code: int | None = None
    restarted: bool = False
    reason: str = ""
    pid: int | None = None
    port: int | None = None


def _restart(record: RepoRecord, home: Path) -> RepoRecord:
    """Start the command the service last ran, on its port, as its own start did."""
    assert record.service_command  # only services that were started come here
    repo = Path(record.local_path)
    environment = command_environment(home, record.id, repo, existing_venv(home, record.id))
    log_path = (
        Path(record.service_log) if record.service_log else home / "logs" / record.id / "service.log"
    )
    process = services.start_service(record.service_command, repo, log_path, environment, record.port)
    return repo_store.set_service(
        open_store(), record.id, "Running", pid=process.pid, port=process.port,
        start_ticks=process.start_ticks, log=str(log_path), command=process.argv, started=True,
    )  # fmt: skip


@task(name="check-service", cache_policy=NO_CACHE)
def check_service(record: RepoRecord, home: Path, restart: bool = True) -> ServiceHealth:
    """Reconcile one service with the OS and apply its restart policy if it has ended."""
    record = reconcile(record)
    found = ServiceHealth(
        id=record.id, name=record.name, status=record.service_status,
        exit_code=record.exit_code, pid=record.pid, port=record.port,
    )  # fmt: skip
    if record.service_status == "Running":
        return found
    decision = decide(
        record.restart_policy, record.restart_limit, record.restart_count,
        record.service_status, record.exit_code,
    )  # fmt: skip
    if not (decision.restart and restart):
        return found.model_copy(update={"reason": decision.reason if restart else "restarts off"})
    try:
        restarted = _restart(record, home)
    except PhoenixError as error:
        repo_store.count_restart(open_store(), record.id)  # a failed start counts, or it loops
        return found.model_copy(update={"reason": f"restart failed: {error.message}"})
    repo_store.count_restart(open_store(), record.id)
    return found.model_copy(
        update={
            "restarted": True,
            "reason": decision.reason,
            "status": restarted.service_status,
            "pid": restarted.pid,
            "port": restarted.port,
        }  # fmt: skip
    )


@task(name="set-restart-policy", cache_policy=NO_CACHE)
def set_restart_policy(record: RepoRecord, arguments: list[str]) -> RepoRecord:
    """`restart-policy never | on-failure [LIMIT]`: what `service-health` does when it has ended."""
    policy, limit = parse_policy(arguments)
    return repo_store.set_restart_policy(open_store(), record.id, policy, limit)


@task(name="publish-service-health", cache_policy=NO_CACHE)
def publish_service_health(found: list[ServiceHealth]) -> None:
    """The health check's findings as a table on its run's page (and the `service-health` key)."""
    create_table_artifact(
        key="service-health",
        table=[
            item.model_dump(include={"id", "name", "status", "exit_code", "port", "restarted", "reason"})
            for item in found
        ],  # fmt: skip
        description="Supervised services at the last health check, and what it restarted.",
    )
