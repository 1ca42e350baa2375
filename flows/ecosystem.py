"""The ecosystem: import repositories, understand how they are built and run, manage them.

`import-and-build-repo` clones a repository (a git URL, a local folder or `owner/repo`) into
PHOENIX_HOME, reads its build systems and commands from its files, records it in DuckDB and, unless
`build=False`, builds it; importing the same source and branch again refreshes the record instead of
making a twin.  `ecosystem-command` runs the lifecycle verbs on an imported repository (list, show,
status, build, env, remove) and any command discovered in its files, and supervises its service
(start, stop, logs); every read of a record asks the operating system whether its service still
runs.

An operation that ran and failed — a build, a command exiting non-zero — returns its whole result
with the error fields of `failed_result` (`type` "error", `code` build_failed / command_failed), so
the CLI exits 1 and the API answers 502 while the record and output are kept.

What a person wants to see is in the Prefect UI as artifacts (`tasks/artifacts.py`): a build report
per build (`build-<id>`), the service's status on start/stop/status (`service-<id>`, and a link while
it listens), and the table of imported repositories (`phoenix-repos`) after every change and list.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from flows.run_names import ecosystem_run_name, import_run_name
from phoenix.ecosystem.source import resolve_source
from phoenix.envelope import failed_result
from phoenix.errors import BuildFailed, CommandFailed, Conflict, UsageError
from phoenix.settings import load_settings
from phoenix.store import open_store
from phoenix.store import repos as repo_store
from phoenix.store.repos import RepoRecord
from tasks.artifacts import publish_build_report, publish_repos_table, publish_service_status
from tasks.build import (
    analyze_repository,
    build_repository,
    forget_repo_variables,
    repo_variables,
    run_repo_command,
)
from tasks.git import ClonedRepo, clone_repo, discard_clone, install_clone, remove_repo_folder
from tasks.services import (
    reconcile,
    reconcile_services,
    service_log,
    set_restart_policy,
    start_repo_service,
    stop_repo_service,
)


@task(name="record-repo", cache_policy=NO_CACHE)
def record_repo(record: RepoRecord) -> RepoRecord:
    return repo_store.save_imported(open_store(), record)


@task(name="read-repos", cache_policy=NO_CACHE)
def read_repos(repo_id: str | None) -> list[RepoRecord]:
    store = open_store()
    return [repo_store.get_repo(store, repo_id)] if repo_id else repo_store.list_repos(store)


def current_repos(repo_id: str | None) -> list[RepoRecord]:
    """Records as stored, their service status reconciled with the operating system."""
    return reconcile_services(read_repos(repo_id))


def show_repos(records: list[RepoRecord] | None = None) -> None:
    """Refresh the UI's table of imported repositories (`phoenix-repos`) from `records`, or from
    the store when the caller has not just read them all."""
    publish_repos_table(records if records is not None else current_repos(None))


def service_shown(record: RepoRecord) -> dict[str, Any]:
    """The record, once its service status (and link) and the repositories table are in the UI."""
    publish_service_status(record)
    show_repos()
    return record.model_dump(mode="json")


@task(name="record-build-status", cache_policy=NO_CACHE)
def record_build_status(
    repo_id: str, status: str, error: str | None = None, log_tail: str | None = None,
    finished: bool = False,
) -> RepoRecord:  # fmt: skip
    return repo_store.set_build_status(open_store(), repo_id, status, error, log_tail, finished)


@task(name="repo-is-recorded", cache_policy=NO_CACHE)
def repo_is_recorded(repo_id: str) -> bool:
    return repo_store.find_repo(open_store(), repo_id) is not None


@task(name="refuse-while-running", cache_policy=NO_CACHE)
def refuse_while_running(repo_id: str) -> None:
    """A re-import must not replace the working copy under a running service."""
    record = repo_store.find_repo(open_store(), repo_id)
    if record is not None and reconcile(record).service_status == "Running":
        raise Conflict(f"{record.name} ({record.id}) is running: stop it before importing it again")


@task(name="forget-repo", cache_policy=NO_CACHE)
def forget_repo(repo_id: str) -> RepoRecord:
    return repo_store.delete_repo(open_store(), repo_id)


def _record_for(
    source_url: str, name: str, owner: str | None, cloned: ClonedRepo, analysis: Any
) -> RepoRecord:
    return RepoRecord(
        id=cloned.id,
        name=name,
        owner=owner,
        url=source_url,
        local_path=cloned.local_path,
        branch=cloned.branch,
        commit=cloned.commit,
        build_system=analysis.primary,
        build_systems=list(analysis.build_systems),
        commands={name: command.argv for name, command in analysis.commands.items()},
        start_command=analysis.start_command,
    )


@flow(name="import-and-build-repo", flow_run_name=import_run_name, validate_parameters=True)
def import_and_build_repo(source: str, branch: str | None = None, build: bool = True) -> dict[str, Any]:
    """Import a repository, read how it is built and run, and build it.

    Args:
        source: a git URL (https, ssh, file), a local folder, or `owner/repo` on GitHub (or on the
            forge of GITHUB_API_URL).
        branch: the branch to import; its default branch when empty.
        build: build it once recorded (a failed build keeps the record and fails the run's
            result); False imports only.
    """
    settings = load_settings()
    repos_folder = settings.home / "repos"
    repo_source = resolve_source(source)
    staged = clone_repo(repo_source, (branch or "").strip() or None, repos_folder)
    try:
        refuse_while_running(staged.id)
        cloned = install_clone(staged)
    except BaseException:
        discard_clone(staged)
        raise
    try:
        analysis = analyze_repository(cloned.local_path)
        record = record_repo(
            _record_for(repo_source.url, repo_source.name, repo_source.owner, cloned, analysis)
        )
    except Exception:
        # Nothing half-written: a clone without its row is removed again.
        if not repo_is_recorded(cloned.id):
            remove_repo_folder(cloned.local_path, repos_folder)
        raise
    if build:
        return build_repo(record, settings.home, settings.build_timeout)
    show_repos()
    return record.model_dump(mode="json")


def ecosystem_command(
    command: str, repo_id: str | None = None, args: list[str] | None = None
) -> dict[str, Any]:
    """Run the `ecosystem-command` flow; what the shell (`flows.run_flow`) and the router call.

    The values given to `env` may be secrets, and a flow run's parameters are kept and shown by
    Prefect (its database, the UI), so they enter the flow as `SecretStr`, which Prefect stores as
    `**********`.
    """
    verb = command.strip().lower()
    secret = verb == "env"
    given = [SecretStr(a) if secret else a for a in args] if args is not None else None
    return ecosystem_command_flow(command=command, repo_id=repo_id, args=given)


@flow(name="ecosystem-command", flow_run_name=ecosystem_run_name, validate_parameters=True)
def ecosystem_command_flow(
    command: str, repo_id: str | None = None, args: list[str | SecretStr] | None = None
) -> dict[str, Any]:
    """Run a lifecycle verb on an imported repository (`list` needs no id).

    Args:
        command: list, show, status, build, env, start, stop, logs, remove, restart-policy, or a
            command discovered in the repository's files (`phoenix ecosystem show` lists them).
        repo_id: the repository's id, as `list` shows it.
        args: arguments of the command: data for it, never options of its build tool.  For `env`,
            `KEY=VALUE` sets a variable of the repository, `KEY=` unsets it, none lists the names.
    """
    verb = command.strip().lower()
    if verb == "list":
        records = current_repos(None)
        show_repos(records)
        return {"items": [r.model_dump(mode="json") for r in records]}
    if not repo_id:
        raise UsageError(f"ecosystem {verb} needs a repository id (see: phoenix ecosystem list)")
    record = current_repos(repo_id)[0]  # an unknown id is "not found" before anything else
    settings = load_settings()
    if verb == "env":
        secrets = [a if isinstance(a, SecretStr) else SecretStr(a) for a in args or []]
        return {"id": record.id, "variables": repo_variables(settings.home, record.id, secrets)}
    texts = [a.get_secret_value() if isinstance(a, SecretStr) else a for a in args or []]
    if verb == "show":
        return record.model_dump(mode="json")
    if verb == "status":
        return service_shown(record)
    if verb == "build":
        return build_repo(record, settings.home, settings.build_timeout)
    if verb == "start":
        name = texts[0] if texts else None
        return service_shown(start_repo_service(record, settings.home, name))
    if verb == "stop":
        return service_shown(stop_repo_service(record))
    if verb == "restart-policy":
        return set_restart_policy(record, texts).model_dump(mode="json")
    if verb == "logs":
        return {"id": record.id, "service_status": record.service_status,
                "log": service_log(record)}  # fmt: skip
    if verb == "remove":
        stop_repo_service(record)
        forget_repo(record.id)
        remove_repo_folder(record.local_path, settings.home / "repos")
        forget_repo_variables(settings.home, record.id)
        show_repos()
        return {"removed": True, **record.model_dump(mode="json")}
    result = run_repo_command(
        record.id, record.local_path, settings.home, command, texts, settings.command_timeout
    )
    if result["exit_code"] != 0:
        how = "timed out" if result["timed_out"] else f"exited with {result['exit_code']}"
        return failed_result(result, CommandFailed(f"{result['command']} {how}"))
    return result


def build_repo(record: RepoRecord, home: Path, timeout_s: float) -> dict[str, Any]:
    """Building → Built or BuildFailed(reason), with the log's tail in DuckDB and in the UI (the
    build report `build-<id>`, and the repositories table); a failed build is the record as
    `failed_result(record, BuildFailed(reason))`."""
    record_build_status(record.id, "Building")
    started = time.perf_counter()
    outcome = build_repository(record.id, record.local_path, home, timeout_s)
    duration_s = time.perf_counter() - started
    updated = record_build_status(
        record.id, outcome.status, outcome.reason, outcome.log_tail, finished=True
    )
    publish_build_report(updated, outcome, duration_s)
    show_repos()
    if outcome.status != "Built":
        error = BuildFailed(f"Build of {record.name} failed: {outcome.reason}")
        return failed_result(updated.model_dump(mode="json"), error)
    return updated.model_dump(mode="json")
