"""Cancelling a flow run that runs in this process, when whoever asked for it has gone away.

Prefect 3.9.1 cancels a flow run by stopping the process that its runner or worker started for it
(`FlowRunCancellingObserver`, then a signal the engine reads as the intent "cancel").  A flow that
the shell calls in its own process — the CLI with `PHOENIX_CLI_IN_PROCESS=1`, the local service,
the HTTP API — has no such supervisor: a Ctrl-C reaches the engine as a `KeyboardInterrupt`, which
it reports as Crashed, and a CLI that goes away leaves the service running the flow to its end.

So Phoenix cancels cooperatively, with Prefect's own states:

- the shell runs each flow inside a `CancelScope`, held in a context variable, so it reaches the
  task threads (Prefect's thread pool copies the context into each) and, through them, the LLM
  calls they hand to the io loop (`phoenix.llm.io_loop`);
- whoever notices that the caller went away calls `scope.cancel()`: the service when its HTTP client
  disconnects (`run_until_disconnected`), the CLI in-process on SIGINT (`cancel_on_sigint`);
- LLM calls in flight are cancelled on the io loop and later ones are refused (`watch_call`);
- tasks and flows that see `cancel_requested()` return Prefect's `Cancelled` state, so the engine
  reports the run Cancelled through the API like any final state (Prefect's Cancelled, not Crashed),
  and the shell turns it into `RunCancelled`.

This module imports neither Prefect nor the flows: the core, the tasks and the shell all use it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from types import FrameType
from typing import Any, TypeVar

from phoenix.errors import OperationFailed

T = TypeVar("T")

CANCELLED_MESSAGE = "Cancelled: the command that started this run was interrupted."


class RunCancelled(OperationFailed):
    """The flow run was cancelled because its caller went away (Ctrl-C, a closed connection).

    The exit status is the shell's convention for a command ended by SIGINT (128 + 2).  Over HTTP
    the caller is usually gone; a client that is still there gets 409: the run is in a state
    (cancelled) that conflicts with giving its result.
    """

    code = "cancelled"
    http_status = 409
    exit_code = 130


class CancelScope:
    """One shell request's flow runs: cancelled at most once, by whoever notices the caller left."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._calls: set[concurrent.futures.Future[Any]] = set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Ask everything in this scope to stop, and cancel the LLM calls in flight now."""
        # litellm hands a provider's coroutine from an executor thread to the call; a call
        # cancelled at that moment drops it unawaited, which is expected here, not a bug to report.
        warnings.filterwarnings("ignore", r"coroutine '.*completion' was never awaited", RuntimeWarning)
        with self._lock:
            self._cancelled.set()
            calls = list(self._calls)
        for call in calls:
            call.cancel()

    @contextlib.contextmanager
    def watching(self, call: concurrent.futures.Future[Any]) -> Iterator[None]:
        """Cancel `call` if this scope is cancelled while it runs (at once if it already is)."""
        with self._lock:
            self._calls.add(call)
            cancelled = self.cancelled
        if cancelled:
            call.cancel()
        try:
            yield
        finally:
            with self._lock:
                self._calls.discard(call)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """Call `function(*args)` with this scope as the current one (e.g. in a worker thread)."""
        with entered(self):
            return function(*args)


_current: ContextVar[CancelScope | None] = ContextVar("phoenix_cancel_scope", default=None)


def current_scope() -> CancelScope | None:
    return _current.get()


def cancel_requested() -> bool:
    """Whether the request this code runs for has been cancelled: stop, do not start new work."""
    scope = _current.get()
    return scope is not None and scope.cancelled


@contextlib.contextmanager
def entered(scope: CancelScope) -> Iterator[CancelScope]:
    """Make `scope` the current one in this context (threads started from it inherit it)."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


@contextlib.contextmanager
def watch_call(call: concurrent.futures.Future[Any]) -> Iterator[None]:
    """Tie an LLM call (a future on the io loop) to the current scope, if there is one.

    A cancelled future cancels its coroutine on the loop (`asyncio.run_coroutine_threadsafe`), so
    a call in flight is abandoned and one not yet begun never sends its request.
    """
    scope = _current.get()
    if scope is None:
        yield
        return
    with scope.watching(call):
        yield


@contextlib.contextmanager
def cancel_on_sigint(scope: CancelScope) -> Iterator[None]:
    """While a flow runs in the main thread, the first Ctrl-C cancels it instead of crashing it.

    Prefect reports a `KeyboardInterrupt` inside a flow as Crashed, and the LLM calls already sent
    would run on.  The first SIGINT cancels the scope (the run ends Cancelled, promptly); a second
    one is an ordinary `KeyboardInterrupt`, for a flow that does not stop.  Elsewhere (a worker
    thread of the service) this does nothing: signals reach the main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if scope.cancelled:
            raise KeyboardInterrupt
        print(
            "phoenix: cancelling the flow run (Ctrl-C again to stop at once) ...",
            file=sys.stderr,
            flush=True,
        )
        scope.cancel()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def run_until_disconnected(
    receive: Callable[[], Awaitable[dict[str, Any]]], function: Callable[..., T], *args: Any
) -> T:
    """Run `function(*args)` in a worker thread; cancel its scope if the HTTP client goes first.

    `receive` is the request's ASGI receive channel, its body already read: the next message it
    gives is `http.disconnect`, when the client has gone (the CLI was interrupted, or died).  The
    work is then cancelled and still awaited — it ends promptly, as Cancelled — so that no flow
    whose caller left runs on in the background.
    """
    # Imported here: the CLI imports this module on every command, asyncio costs it ~50 ms.
    import asyncio

    import anyio.to_thread

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    scope = CancelScope()
    work = asyncio.ensure_future(anyio.to_thread.run_sync(scope.run, function, *args))
    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            scope.cancel()
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        scope.cancel()  # the server itself is stopping this request
        raise
    finally:
        watcher.cancel()
        if watcher.done() and not watcher.cancelled():
            watcher.exception()  # retrieved: a failed watch means the client is gone, as handled
