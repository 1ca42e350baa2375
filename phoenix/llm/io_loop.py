"""One event loop per process for every LLM call, whichever thread asks.

Prefect runs each ORCH task in a worker thread of its ThreadPool task runner.  If each of those
threads made its own blocking litellm call, a fan-out of N ORCHs would be N synchronous HTTP clients
and N copies of litellm's per-call bookkeeping contending for the GIL — measured here at about 16 ms
of CPU per call against 11 ms for the same calls gathered on one event loop.  So the tasks stay
synchronous (Prefect's retries, states and thread pool are unchanged) and hand the I/O to this loop:
one daemon thread, one connection pool, litellm's async path.  The loop is created on first use and
again in a forked child (a loop thread does not survive `fork`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from phoenix.cancellation import watch_call

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _forget_after_fork() -> None:
    # Another thread may have held the lock at the fork: the child starts with a fresh one.
    global _lock, _loop, _thread
    _lock, _loop, _thread = threading.Lock(), None, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def io_loop() -> asyncio.AbstractEventLoop:
    """This process's LLM event loop, running in its own daemon thread."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="phoenix-llm-io", daemon=True)
            thread.start()
            _loop, _thread = loop, thread
        return _loop


def run_on_io_loop(coroutine: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Run `coroutine` on the LLM loop and wait for it from this (synchronous) thread.

    Raises `TimeoutError` after `timeout_s`, having cancelled the coroutine: a caller that gives up
    leaves nothing running behind it.  A call made for a cancelled command (`phoenix.cancellation`)
    is cancelled too, in flight or before it starts, and raises `concurrent.futures.CancelledError`.
    """
    if _thread is not None and threading.current_thread() is _thread:
        coroutine.close()
        raise RuntimeError("run_on_io_loop was called from the LLM loop itself; await instead")
    future = asyncio.run_coroutine_threadsafe(coroutine, io_loop())
    try:
        with watch_call(future):
            return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"no answer within {timeout_s:.0f} s") from None
