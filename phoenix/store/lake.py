"""The shared store: DuckDB's DuckLake, its catalog in PostgreSQL, its data files on a shared path.

Chosen with `PHOENIX_STORE_URL=ducklake:postgres:<libpq conninfo>`; the data files go to
`PHOENIX_STORE_DATA_PATH`, which every machine must reach at the same address (a shared folder or an
object store URL).  Same schema, migrations and access functions as the file store.

No file lock, unlike the file store: the catalog serialises commits.  Every DuckLake commit writes
the next snapshot id into a catalog table whose primary key refuses a second writer of the same
id; DuckLake then checks what was committed since the transaction began and either retries the
commit itself (no logical conflict: both inserted rows) or fails it with a transaction conflict
(both changed the same table, created the same table, ...), which `StateStore.transaction` retries
from the start.  Data files get fresh unique names and are never rewritten in place, so writers
never touch the same file; small writes are inlined into the catalog and write no file at all.

What DuckLake lacks, and how the access functions cope: no PRIMARY KEY or UNIQUE, so two processes
inserting the same new key at the same moment both succeed (pure inserts never conflict).  Reads
take the newest row of a key (DuckLake numbers rows in commit order: `current_rows`), updates and
MERGE change every row of the key, deletes remove them all — so a duplicate is never visible.

Connections: attaching the lake costs a PostgreSQL connection and ~0.1 s, so each process keeps
one in-memory DuckDB per store with the lake attached, and each unit of work takes a cursor of it
(cursors are safe to use from several threads).  A forked child makes its own.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from phoenix.errors import OperationFailed
from phoenix.store.database import DEFAULT_LOCK_TIMEOUT_S, StateStore, current_rows
from phoenix.store.schema import apply_migrations, is_conflict

EXTRA_HINT = "pip install 'phoenix-orchestrator[shared-store]'"
ALIAS = "phoenix_lake"
ATTACH_DEADLINE_S = 20.0

_lock = threading.Lock()
_instances: dict[tuple[str, str, int], duckdb.DuckDBPyConnection] = {}
_migrated: set[tuple[str, str]] = set()

_PASSWORD_KEYWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_PASSWORD_IN_URI = re.compile(r"(://[^/@:\s]*:)[^/@\s]*@")


class StoreUnavailable(OperationFailed):
    """The shared store cannot be reached or used: extension missing, catalog unreachable."""

    code = "store_unavailable"
    http_status = 503


def mask_secrets(text: str) -> str:
    """`text` with any libpq password (`password=...`, `postgresql://user:...@`) masked."""
    return _PASSWORD_IN_URI.sub(r"\1***@", _PASSWORD_KEYWORD.sub(r"\1***", text))


def extension_files() -> list[Path]:
    """The postgres_scanner and ducklake extension files of the `shared-store` extra's wheels.

    Loaded by path: the wheels pin the extensions to this DuckDB release, and no download happens.
    The postgres one must come from `duckdb_extension_postgres_scanner` (the file shipped by
    `duckdb_extension_postgres` has another entry point and fails to load).
    """
    try:
        import duckdb_extension_ducklake
        import duckdb_extension_postgres_scanner
    except ImportError as error:
        raise StoreUnavailable(
            f"The shared store (PHOENIX_STORE_URL) needs DuckDB's ducklake and postgres "
            f"extensions, and {error.name} is not installed: {EXTRA_HINT}"
        ) from None
    files = []
    for package in (duckdb_extension_postgres_scanner, duckdb_extension_ducklake):
        found = next(Path(package.__file__).parent.rglob("*.duckdb_extension"), None)
        if found is None:
            raise StoreUnavailable(f"{package.__name__} holds no extension file: {EXTRA_HINT}")
        files.append(found)
    return files


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class LakeStore(StateStore):
    """The Phoenix database as a DuckLake: catalog in PostgreSQL, data under `data_path`."""

    lake = True

    def __init__(self, url: str, data_path: str, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        if not url.startswith("ducklake:postgres:"):
            raise ValueError("a LakeStore URL starts with ducklake:postgres:")
        self.url = url
        self.data_path = data_path if data_path.endswith("/") else data_path + "/"
        self.lock_timeout_s = lock_timeout_s

    def describe(self) -> str:
        return f"{mask_secrets(self.url)} (data: {self.data_path})"

    def current(self, table: str) -> str:
        return current_rows(table)

    def _attach(self) -> duckdb.DuckDBPyConnection:
        files = extension_files()
        if "://" not in self.data_path:
            Path(self.data_path).mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + ATTACH_DEADLINE_S
        backoff = 0.02
        while True:
            database = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
            try:
                for file in files:
                    database.execute(f"LOAD {_quoted(str(file))}")
                # Commits that only collide on the snapshot id are retried by DuckLake itself.
                # Measured with 8 writer processes on 2 cores: a first wait of 20 ms (default
                # 100) gave 25-40 writes/s, 5 ms only 10 (the writers keep colliding).
                database.execute("SET ducklake_retry_wait_ms = 20")
                database.execute("SET ducklake_retry_backoff = 1.5")
                database.execute("SET ducklake_max_retry_count = 30")
                database.execute(
                    f"ATTACH {_quoted(self.url)} AS {ALIAS} (DATA_PATH {_quoted(self.data_path)})"
                )
                return database
            except duckdb.Error as error:
                database.close()
                # Two processes attaching a fresh catalog both create DuckLake's tables; the loser
                # sees them half made. Anything else (unreachable, refused) fails at once.
                text = str(error)
                racing = "already exists" in text or "duplicate key" in text or is_conflict(error)
                if not racing or time.monotonic() >= deadline:
                    raise StoreUnavailable(
                        f"Could not open the shared store {self.describe()}: {mask_secrets(text)}"
                    ) from None
            time.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 0.5)

    def _database(self) -> duckdb.DuckDBPyConnection:
        import os

        key = (self.url, self.data_path, os.getpid())
        with _lock:
            database = _instances.get(key)
            if database is None:
                database = _instances[key] = self._attach()
            return database

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on this process's attached lake, migrated, with the lake as default catalog.

        DuckDB errors leave with any password masked: the catalog's connection string can appear in
        them.
        """
        cursor = self._database().cursor()
        try:
            cursor.execute(f"USE {ALIAS}")
            # No progress bar: a statement slowed by contention would draw one on stdout.
            cursor.execute("SET enable_progress_bar = false")
            if (self.url, self.data_path) not in _migrated:
                apply_migrations(cursor, lake=True)
                _migrated.add((self.url, self.data_path))
            yield cursor
        except duckdb.Error as error:
            masked = mask_secrets(str(error))
            if masked == str(error):
                raise
            raise type(error)(masked) from None
        finally:
            cursor.close()
