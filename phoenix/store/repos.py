"""Imported repositories as stored in DuckDB, and as returned to callers (the repo record).

The record's fields are a public contract (docs/design.md, "JSON shapes").  Both stores: a
re-import is a MERGE, a read takes the newest row of an id, an update changes every row of it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from phoenix.errors import NotFound, UsageError
from phoenix.store.database import StateStore

COLUMNS = (
    "id", "name", "owner", "url", "local_path", "branch", "commit", "build_system",
    "build_systems", "commands", "start_command", "build_status", "build_error", "build_log_tail",
    "service_status", "pid", "port", "exit_code", "started_at", "created_at", "updated_at",
    "last_built", "service_start_ticks", "service_log", "service_command", "restart_policy",
    "restart_limit", "restart_count",
)  # fmt: skip

RESTART_POLICIES = ("never", "on-failure")
"""As systemd's Restart=: never restart a service, or restart it when it exits non-zero."""


class RepoRecord(BaseModel):
    id: str
    name: str
    owner: str | None = None
    url: str
    local_path: str
    branch: str | None = None
    commit: str | None = None
    build_system: str | None = None
    build_systems: list[str] = Field(default_factory=list)
    commands: dict[str, list[str]] = Field(default_factory=dict)
    start_command: list[str] | None = None
    build_status: str = "NotBuilt"
    build_error: str | None = None
    build_log_tail: str | None = None
    service_status: str = "Stopped"
    pid: int | None = None
    port: int | None = None
    exit_code: int | None = None
    started_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_built: datetime | None = None
    service_start_ticks: int | None = None
    service_log: str | None = None
    service_command: list[str] | None = None
    restart_policy: str = "never"
    restart_limit: int | None = None
    """The most automatic restarts since the last manual start; None: no limit."""
    restart_count: int = 0
    """Automatic restarts since the last manual start."""


def _record(row: tuple[Any, ...]) -> RepoRecord:
    values = dict(zip(COLUMNS, row, strict=True))
    values["commands"] = json.loads(values["commands"]) if values["commands"] else {}
    values["restart_policy"] = values["restart_policy"] or "never"  # NULL: rows from before
    values["restart_count"] = values["restart_count"] or 0
    return RepoRecord.model_validate(values)


def save_imported(store: StateStore, record: RepoRecord) -> RepoRecord:
    """Insert a newly imported repository, or refresh the metadata of one imported before.

    Re-importing keeps what belongs to the running system (service status, pid, port, the last
    build) and replaces what comes from the source (commit, build systems, commands).
    """

    def upsert(connection: duckdb.DuckDBPyConnection) -> RepoRecord:
        connection.execute(
            """
            MERGE INTO repos USING (
                SELECT ?::VARCHAR AS id, ?::VARCHAR AS name, ?::VARCHAR AS owner,
                       ?::VARCHAR AS url, ?::VARCHAR AS local_path, ?::VARCHAR AS branch,
                       ?::VARCHAR AS commit, ?::VARCHAR AS build_system,
                       ?::VARCHAR[] AS build_systems, ?::JSON AS commands,
                       ?::VARCHAR[] AS start_command
            ) AS new ON repos.id = new.id
            WHEN MATCHED THEN UPDATE SET
                name = new.name, owner = new.owner, local_path = new.local_path,
                commit = new.commit, build_system = new.build_system,
                build_systems = new.build_systems, commands = new.commands,
                start_command = new.start_command, updated_at = now()
            WHEN NOT MATCHED THEN INSERT (id, name, owner, url, local_path, branch, commit,
                build_system, build_systems, commands, start_command)
            VALUES (new.id, new.name, new.owner, new.url, new.local_path, new.branch, new.commit,
                new.build_system, new.build_systems, new.commands, new.start_command)
            """,
            [
                record.id, record.name, record.owner, record.url, record.local_path,
                record.branch, record.commit, record.build_system, record.build_systems,
                json.dumps(record.commands), record.start_command,
            ],
        )  # fmt: skip
        return _read(connection, record.id)

    return store.transaction(upsert)


def _read(connection: duckdb.DuckDBPyConnection, repo_id: str) -> RepoRecord:
    row = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM repos WHERE id = ?"  # noqa: S608 - fixed column names
        " ORDER BY rowid DESC LIMIT 1",  # the newest row, should the shared store hold two
        [repo_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"No imported repository with id {repo_id!r} (see: phoenix ecosystem list)")
    return _record(row)


def get_repo(store: StateStore, repo_id: str) -> RepoRecord:
    return store.read(lambda connection: _read(connection, repo_id))


def find_repo(store: StateStore, repo_id: str) -> RepoRecord | None:
    """The repository's record, or None when there is none (where absence is not an error)."""
    try:
        return get_repo(store, repo_id)
    except NotFound:
        return None


def list_repos(store: StateStore) -> list[RepoRecord]:
    rows = store.read(
        lambda c: c.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {store.current('repos')}"  # noqa: S608
            " ORDER BY created_at, id"
        ).fetchall()
    )
    return [_record(row) for row in rows]


def delete_repo(store: StateStore, repo_id: str) -> RepoRecord:
    """Forget a repository; returns its last record so the caller can remove its folder."""

    def delete(connection: duckdb.DuckDBPyConnection) -> RepoRecord:
        record = _read(connection, repo_id)
        connection.execute("DELETE FROM repos WHERE id = ?", [repo_id])
        return record

    return store.transaction(delete)


def set_build_status(
    store: StateStore,
    repo_id: str,
    status: str,
    error: str | None = None,
    log_tail: str | None = None,
    finished: bool = False,
) -> RepoRecord:
    """Record a build's progress: Building, then Built or BuildFailed with its reason and log tail."""

    def update(connection: duckdb.DuckDBPyConnection) -> RepoRecord:
        _read(connection, repo_id)
        connection.execute(
            "UPDATE repos SET build_status = ?, build_error = ?, build_log_tail = ?,"
            " last_built = CASE WHEN ? THEN now() ELSE last_built END, updated_at = now()"
            " WHERE id = ?",
            [status, error, log_tail, finished, repo_id],
        )
        return _read(connection, repo_id)

    return store.transaction(update)


def set_service(
    store: StateStore,
    repo_id: str,
    status: str,
    *,
    pid: int | None = None,
    port: int | None = None,
    exit_code: int | None = None,
    start_ticks: int | None = None,
    log: str | None = None,
    command: list[str] | None = None,
    started: bool = False,
) -> RepoRecord:
    """Record a service's state; `started` marks a new start (its time, pid and port)."""

    def update(connection: duckdb.DuckDBPyConnection) -> RepoRecord:
        current = _read(connection, repo_id)
        connection.execute(
            """
            UPDATE repos SET service_status = ?, pid = ?, port = ?, exit_code = ?,
                service_start_ticks = ?, service_log = ?, service_command = ?,
                started_at = CASE WHEN ? THEN now() ELSE started_at END, updated_at = now()
            WHERE id = ?
            """,
            [
                status, pid, port, exit_code, start_ticks, log or current.service_log,
                command or current.service_command, started, repo_id,
            ],
        )  # fmt: skip
        return _read(connection, repo_id)

    return store.transaction(update)


def set_restart_policy(store: StateStore, repo_id: str, policy: str, limit: int | None) -> RepoRecord:
    """Set the service's restart policy: 'never', or 'on-failure' with at most `limit` restarts.

    Raises:
        UsageError: an unknown policy, or a negative limit.
        NotFound: no repository has that id.
    """
    if policy not in RESTART_POLICIES:
        raise UsageError(f"A restart policy is one of {', '.join(RESTART_POLICIES)}, not {policy!r}")
    if limit is not None and limit < 0:
        raise UsageError(f"A restart limit is 0 or more (or none for no limit), not {limit}")

    def update(connection: duckdb.DuckDBPyConnection) -> RepoRecord:
        _read(connection, repo_id)
        connection.execute(
            "UPDATE repos SET restart_policy = ?, restart_limit = ?, updated_at = now() WHERE id = ?",
            [policy, limit, repo_id],
        )
        return _read(connection, repo_id)

    return store.transaction(update)


def count_restart(store: StateStore, repo_id: str) -> int:
    """Count one automatic restart; returns the new count.

    Atomic: the read and the increment are one transaction, and two processes counting at once
    conflict and retry rather than both write the same count.
    """

    def increment(connection: duckdb.DuckDBPyConnection) -> int:
        count = _read(connection, repo_id).restart_count + 1
        connection.execute("UPDATE repos SET restart_count = ? WHERE id = ?", [count, repo_id])
        return count

    return store.transaction(increment)


def reset_restarts(store: StateStore, repo_id: str) -> None:
    """Start counting automatic restarts from zero (a manual start does this)."""

    def reset(connection: duckdb.DuckDBPyConnection) -> None:
        _read(connection, repo_id)
        connection.execute("UPDATE repos SET restart_count = 0 WHERE id = ?", [repo_id])

    store.transaction(reset)
