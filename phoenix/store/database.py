"""Short-lived DuckDB connections that many processes can share.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from phoenix.errors import OperationFailed
from phoenix.store.schema import apply_migrations

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


def _is_transaction_conflict(error: duckdb.Error) -> bool:
    return isinstance(error, duckdb.TransactionException) or "Conflict on" in str(error)


class Store:
    """The Phoenix database: one DuckDB file, opened for each unit of work."""

    def __init__(self, path: Path, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

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

    def transaction(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run `work` in one transaction: all of it commits, or none of it.

        A transaction conflict (another writer changed the same row) is retried from the start,
        which is safe because `work` only talks to the database.
        """
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            with self.connect() as connection:
                try:
                    connection.begin()
                    result = work(connection)
                    connection.commit()
                    return result
                except duckdb.Error as error:
                    connection.rollback()
                    if not _is_transaction_conflict(error) or time.monotonic() >= deadline:
                        raise
            time.sleep(_FIRST_BACKOFF_S * (0.5 + random.random()))

    def read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run a read-only `work`; readers wait for writers rather than fail."""
        with self.connect() as connection:
            return work(connection)
