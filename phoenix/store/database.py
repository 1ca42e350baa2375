"""The store interface, and the default store: one DuckDB file that many processes share.

`StateStore` is what the access functions (memory.py, proposals.py, repos.py) use: units of work
run in one transaction each (`transaction`, retried on a conflict) or read (`read`), and `current`
names a table's current rows.  Two stores implement it: `Store` below (the file, the default) and
`LakeStore` in lake.py (DuckLake with its catalog in PostgreSQL, for several machines);
`phoenix.store.open_store()` picks one from the settings.

The file store: short-lived DuckDB connections.

DuckDB lets one process at a time hold a database file open for writing; a second opener fails at
once with "Could not set lock on file".  Phoenix runs in several processes at once (the CLI, the HTTP
API, `phoenix serve` and its flow subprocesses, Prefect workers), so no process keeps the file open:
every unit of work opens a connection, runs in one transaction and closes it, and an opener that meets
another process's lock waits with jittered exponential backoff until a deadline.  Holding times are
milliseconds, so waits are short; a write is never dropped — it either commits or raises after the
deadline with a message that says which file was busy.

Within one process a lock serialises the units of work: they are short, and it keeps threads from
racing each other into DuckDB's "Conflict on update" errors.

Between processes, DuckDB's own lock is not enough: measured with duckdb 2.0.1, five processes that
each open, write, close, then open, read, close now and then read a key they had just written as
missing, or fail with "Could not read enough bytes from file": a closing process lets the next
opener in before it is done with the file.  So every unit of work also holds an exclusive `flock` on
`<database>.lock` from before it opens the file until after it has closed it (the same five
processes: no failure in seven runs, and about twice as fast: a waiter polls a cheap `flock`
instead of opening the database again and again).  DuckDB's lock error is still retried, for
processes that open the file without Phoenix (the duckdb CLI, say).
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from phoenix.errors import OperationFailed
from phoenix.store.schema import KEYS, apply_migrations, is_conflict, rollback_quietly

T = TypeVar("T")

DEFAULT_LOCK_TIMEOUT_S = 60.0
_FIRST_BACKOFF_S = 0.002
_MAX_BACKOFF_S = 0.1
_MAX_FLOCK_BACKOFF_S = 0.01  # units of work last milliseconds; a flock attempt costs microseconds

_process_lock = threading.RLock()
_held_file_locks: dict[Path, int] = {}  # lock file -> units of work nested in it (under _process_lock)
_migrated: set[Path] = set()


class StoreBusy(OperationFailed):
    """Another process held the database for longer than the deadline."""

    code = "busy"
    http_status = 503


def _is_lock_conflict(error: duckdb.Error) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


class StateStore(ABC):
    """What the access functions need from a store, whichever is configured."""

    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    lake: bool = False
    """True for DuckLake: no PRIMARY KEY/UNIQUE, so a key may have several rows (`current`)."""

    @abstractmethod
    def connect(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A connection for one short unit of work, migrated, with the store's tables in scope."""

    @abstractmethod
    def describe(self) -> str:
        """Where the state is, for status output: never a password."""

    def current(self, table: str) -> str:
        """SQL for `table`'s current rows, one per key (the table itself where keys are unique)."""
        return table

    def transaction(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run `work` in one transaction: all of it commits, or none of it.

        A transaction conflict (another writer changed the same row, or in DuckLake the same table)
        is retried from the start with jittered exponential backoff, which is safe because `work`
        only talks to the database.
        """
        deadline = time.monotonic() + self.lock_timeout_s
        backoff = _FIRST_BACKOFF_S
        while True:
            with self.connect() as connection:
                try:
                    connection.begin()
                    result = work(connection)
                    connection.commit()
                    return result
                except duckdb.Error as error:
                    rollback_quietly(connection)
                    if not is_conflict(error) or time.monotonic() >= deadline:
                        raise
                except BaseException:
                    rollback_quietly(connection)
                    raise
            time.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run a read-only `work`; readers wait for writers rather than fail."""
        with self.connect() as connection:
            return work(connection)


class Store(StateStore):
    """The Phoenix database: one DuckDB file, opened for each unit of work."""

    def __init__(self, path: Path, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    def describe(self) -> str:
        return str(self.path)

    def _open(self, deadline: float) -> duckdb.DuckDBPyConnection:
        backoff = _FIRST_BACKOFF_S
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as error:
                if not _is_lock_conflict(error):
                    raise
                if time.monotonic() >= deadline:
                    raise self._busy() from None
            time.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _busy(self) -> StoreBusy:
        return StoreBusy(
            f"The Phoenix database {self.path} stayed locked by another process for "
            f"{self.lock_timeout_s:.0f} s"
        )

    @contextmanager
    def _file_lock(self, deadline: float) -> Iterator[None]:
        """Hold `<database>.lock` exclusively; a nested unit of work in this thread reuses it."""
        if _held_file_locks.get(self.lock_path, 0) > 0:
            _held_file_locks[self.lock_path] += 1
            try:
                yield
            finally:
                _held_file_locks[self.lock_path] -= 1
            return
        descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            backoff = _FIRST_BACKOFF_S
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise self._busy() from None
                time.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, _MAX_FLOCK_BACKOFF_S)
            _held_file_locks[self.lock_path] = 1
            try:
                yield
            finally:
                _held_file_locks[self.lock_path] = 0
        finally:
            os.close(descriptor)  # releases the flock

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one short unit of work, closed (and the file released) on exit."""
        deadline = time.monotonic() + self.lock_timeout_s
        with _process_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock(deadline):
                yield from self._connected(deadline)

    def _connected(self, deadline: float) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = self._open(deadline)
        try:
            if self.path not in _migrated:
                apply_migrations(connection)
                _migrated.add(self.path)
            yield connection
        finally:
            connection.close()


def current_rows(table: str) -> str:
    """SQL for the newest row of each key of `table` (DuckLake numbers rows in commit order)."""
    keys = ", ".join(KEYS[table])
    return (
        f"(SELECT * FROM {table} QUALIFY row_number() OVER "  # noqa: S608 - fixed table names
        f"(PARTITION BY {keys} ORDER BY rowid DESC) = 1) AS {table}"
    )
