"""The versioned schema of the Phoenix database.

Migrations are append-only: a released migration never changes, a new one is added at the end.  They
are applied in order, each in its own transaction, the first time a process opens the store.

One schema for both stores.  DuckLake (the shared store) refuses PRIMARY KEY and UNIQUE, so
`render` drops them there; the access functions never rely on them (upserts are MERGE, reads take
the newest row of a key: `KEYS`).  Two processes may migrate a fresh DuckLake catalog at once: each
migration's transaction re-reads the version, and the loser's commit conflicts with the winner's
(same table created or altered, same version row touched), so it is retried, finds the migration
applied, and skips it.
"""

from __future__ import annotations

import contextlib
import random
import re
import time

import duckdb

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "key-value memory and propose-improvements runs",
        """
        CREATE TABLE kv_memory (
            key        VARCHAR PRIMARY KEY,
            value      VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE propose_runs (
            run_id      VARCHAR PRIMARY KEY,
            seed        VARCHAR NOT NULL,
            n           INTEGER NOT NULL,
            succeeded   INTEGER NOT NULL,
            failed      INTEGER NOT NULL,
            model       VARCHAR NOT NULL,
            wall_s      DOUBLE NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE proposals (
            run_id    VARCHAR NOT NULL,
            idx       INTEGER NOT NULL,
            angle     VARCHAR NOT NULL,
            proposal  VARCHAR,
            error     VARCHAR,
            attempts  INTEGER NOT NULL,
            latency_s DOUBLE NOT NULL,
            PRIMARY KEY (run_id, idx)
        );
        """,
    ),
]

MIGRATIONS.append(
    (
        2,
        "imported repositories of the ecosystem",
        """
        CREATE TABLE repos (
            id             VARCHAR PRIMARY KEY,
            name           VARCHAR NOT NULL,
            owner          VARCHAR,
            url            VARCHAR NOT NULL,
            local_path     VARCHAR NOT NULL,
            branch         VARCHAR,
            commit         VARCHAR,
            build_system   VARCHAR,
            build_systems  VARCHAR[] NOT NULL DEFAULT [],
            commands       JSON NOT NULL DEFAULT '{}',
            start_command  VARCHAR[],
            build_status   VARCHAR NOT NULL DEFAULT 'NotBuilt',
            build_error    VARCHAR,
            build_log_tail VARCHAR,
            service_status VARCHAR NOT NULL DEFAULT 'Stopped',
            pid            INTEGER,
            port           INTEGER,
            exit_code      INTEGER,
            started_at     TIMESTAMPTZ,
            created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
            last_built     TIMESTAMPTZ,
            UNIQUE (url, branch)
        );
        """,
    )
)

MIGRATIONS.append(
    (
        3,
        "supervised services: what is needed to recognise a service's process later",
        """
        ALTER TABLE repos ADD COLUMN service_start_ticks BIGINT;
        ALTER TABLE repos ADD COLUMN service_log VARCHAR;
        ALTER TABLE repos ADD COLUMN service_command VARCHAR[];
        """,
    )
)

MIGRATIONS.append(
    (
        4,
        "service restart policy: never, or on-failure with a limit (systemd's Restart=)",
        """
        ALTER TABLE repos ADD COLUMN restart_policy VARCHAR;
        ALTER TABLE repos ADD COLUMN restart_limit INTEGER;
        ALTER TABLE repos ADD COLUMN restart_count INTEGER;
        """,
    )
)

MIGRATIONS.append(
    (
        5,
        "agents: spawned agents (code in a repository), and later agents with tools",
        """
        CREATE TABLE agents (
            id              VARCHAR PRIMARY KEY,
            name            VARCHAR NOT NULL,
            description     VARCHAR NOT NULL DEFAULT '',
            tier            VARCHAR NOT NULL DEFAULT 'free',
            status          VARCHAR NOT NULL,
            repo_url        VARCHAR,
            pr_number       INTEGER,
            pr_url          VARCHAR,
            test_passed     BOOLEAN,
            test_exit_code  INTEGER,
            test_duration_s DOUBLE,
            model           VARCHAR,
            attempts        INTEGER,
            error           VARCHAR,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """,
    )
)

MIGRATIONS.append(
    (
        6,
        "vector memory: texts with their sentence embeddings and metadata",
        """
        CREATE TABLE memory_vectors (
            id          VARCHAR PRIMARY KEY,
            text        VARCHAR NOT NULL,
            text_hash   VARCHAR NOT NULL,
            model       VARCHAR NOT NULL,
            vec         FLOAT[384] NOT NULL,
            metadata    JSON NOT NULL DEFAULT '{}',
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (text_hash, model)
        );
        """,
    )
)

MIGRATIONS.append(
    (
        7,
        "agents with a mission and assigned tools, and every tool call they make",
        """
        ALTER TABLE agents ADD COLUMN mission VARCHAR;
        CREATE TABLE tool_assignments (
            agent_id    VARCHAR NOT NULL,
            tool        VARCHAR NOT NULL,
            assigned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (agent_id, tool)
        );
        CREATE TABLE tool_calls (
            id          VARCHAR PRIMARY KEY,
            run_id      VARCHAR,
            agent_id    VARCHAR,
            step        INTEGER NOT NULL,
            tool        VARCHAR NOT NULL,
            arguments   JSON NOT NULL,
            allowed     BOOLEAN NOT NULL,
            ok          BOOLEAN NOT NULL,
            output      VARCHAR,
            error       VARCHAR,
            duration_s  DOUBLE NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """,
    )
)

MIGRATIONS.append(
    (
        8,
        "what a propose run costs (tokens, price) and the queen's ranked synthesis",
        """
        ALTER TABLE proposals ADD COLUMN prompt_tokens INTEGER;
        ALTER TABLE proposals ADD COLUMN completion_tokens INTEGER;
        ALTER TABLE proposals ADD COLUMN cost_usd DOUBLE;
        ALTER TABLE propose_runs ADD COLUMN prompt_tokens INTEGER;
        ALTER TABLE propose_runs ADD COLUMN completion_tokens INTEGER;
        ALTER TABLE propose_runs ADD COLUMN cost_usd DOUBLE;
        ALTER TABLE propose_runs ADD COLUMN synthesis JSON;
        """,
    )
)

LATEST_VERSION = MIGRATIONS[-1][0]

KEYS: dict[str, tuple[str, ...]] = {
    "kv_memory": ("key",),
    "propose_runs": ("run_id",),
    "proposals": ("run_id", "idx"),
    "repos": ("id",),
    "agents": ("id",),
    "memory_vectors": ("id",),
    "tool_assignments": ("agent_id", "tool"),
    "tool_calls": ("id",),
    "schema_migrations": ("version",),
}
"""Each table's key: unique in the file store; in the shared store, the newest row of a key wins."""

MIGRATION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)

_TABLE_CONSTRAINT = re.compile(r",\s*(?:PRIMARY KEY|UNIQUE)\s*\([^)]*\)")
_COLUMN_PRIMARY_KEY = re.compile(r"\s+PRIMARY KEY\b")
_LIST_DEFAULT = re.compile(r"\s+DEFAULT\s+\[\]")  # DuckLake: "Default value for LIST type not supported"
_ARRAY_TYPE = re.compile(r"\b(FLOAT|DOUBLE)\[\d+\]")  # DuckLake: "unsupported type FLOAT[384]"
MIGRATION_DEADLINE_S = 60.0


def render(sql: str, lake: bool) -> str:
    """The migration's SQL for the store.

    For DuckLake: without PRIMARY KEY and UNIQUE, without list defaults (every insert of such a
    column names it: the access functions always do), and with fixed-size arrays stored as lists
    (`FLOAT[384]` → `FLOAT[]`; readers take the list as it is: `vectors._load` fetches `vec`
    with `fetchnumpy` and stacks the rows into a float32 matrix, with no cast).
    """
    if not lake:
        return sql
    for pattern in (_TABLE_CONSTRAINT, _COLUMN_PRIMARY_KEY, _LIST_DEFAULT):
        sql = pattern.sub("", sql)
    return _ARRAY_TYPE.sub(r"\1[]", sql)


def is_conflict(error: BaseException) -> bool:
    """Another transaction committed a conflicting change first: retrying is safe."""
    text = str(error)
    return (
        isinstance(error, duckdb.TransactionException)
        or "Conflict on" in text
        or "Transaction conflict" in text
    )


def current_version(connection: duckdb.DuckDBPyConnection) -> int:
    row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def rollback_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    """Roll back if a transaction is still open (DuckLake ends it itself when a commit fails)."""
    with contextlib.suppress(duckdb.TransactionException):
        connection.rollback()


def _apply_next(connection: duckdb.DuckDBPyConnection, lake: bool) -> int | None:
    """Apply the first migration not applied yet in one transaction; None when there is none."""
    connection.begin()
    try:
        version = current_version(connection)
        pending = [migration for migration in MIGRATIONS if migration[0] > version]
        if not pending:
            connection.commit()
            return None
        number, description, sql = pending[0]
        connection.execute(render(sql, lake))
        # Touch the row of the version this started from: a concurrent migrator of the same version
        # then conflicts here even when a migration changes no table both would touch.
        connection.execute(
            "UPDATE schema_migrations SET applied_at = applied_at WHERE version = ?", [version]
        )
        connection.execute(
            "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
            [number, description],
        )
        connection.commit()
        return number
    except BaseException:
        rollback_quietly(connection)
        raise


def apply_migrations(connection: duckdb.DuckDBPyConnection, lake: bool = False) -> int:
    """Bring the schema up to date; returns the version it is at.

    A conflict with another process migrating at the same moment is retried with jittered backoff
    until `MIGRATION_DEADLINE_S`; the retry re-reads the version, so nothing is applied twice.
    """
    deadline = time.monotonic() + MIGRATION_DEADLINE_S
    backoff = 0.01
    while True:
        try:
            connection.execute(render(MIGRATION_TABLE, lake))
            while _apply_next(connection, lake) is not None:
                pass
            return current_version(connection)
        except duckdb.Error as error:
            if not is_conflict(error) or time.monotonic() >= deadline:
                raise
        time.sleep(backoff * (0.5 + random.random()))
        backoff = min(backoff * 2, 0.5)
