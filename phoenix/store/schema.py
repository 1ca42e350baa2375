"""The versioned schema of the Phoenix database.

Migrations are append-only: a released migration never changes, a new one is added at the end.  They
are applied in order, each in its own transaction, the first time a process opens the file.
"""

from __future__ import annotations

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

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(connection: duckdb.DuckDBPyConnection) -> int:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def apply_migrations(connection: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema up to date; returns the version it is at."""
    version = current_version(connection)
    for number, description, sql in MIGRATIONS:
        if number <= version:
            continue
        connection.begin()
        try:
            connection.execute(sql)
            connection.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                [number, description],
            )
            connection.commit()
        except Exception:
            connection.rollback()
            raise
        version = number
    return version
