"""The process's LLM event loop: results come back, a caller that gives up leaves nothing running."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from phoenix.llm.io_loop import io_loop, run_on_io_loop


def test_many_threads_share_one_loop_and_get_their_own_results() -> None:
    async def answer(index: int) -> tuple[int, int]:
        await asyncio.sleep(0.01)
        return index, threading.get_ident()

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda i: run_on_io_loop(answer(i), timeout_s=10), range(64)))
    assert [index for index, _ in results] == list(range(64))
    assert len({thread for _, thread in results}) == 1
    assert results[0][1] != threading.get_ident()


def test_a_timeout_cancels_the_call() -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError, match="no answer within"):
        run_on_io_loop(slow(), timeout_s=0.2)
    assert cancelled.wait(5), "the coroutine kept running after its caller gave up"


def test_errors_reach_the_caller() -> None:
    async def broken() -> None:
        raise ValueError("bad answer")

    with pytest.raises(ValueError, match="bad answer"):
        run_on_io_loop(broken(), timeout_s=5)


def test_calling_it_from_the_loop_itself_is_refused() -> None:
    async def inner() -> int:
        return 1

    async def outer() -> str:
        coroutine = inner()
        try:
            run_on_io_loop(coroutine, timeout_s=1)
        except RuntimeError as error:
            return str(error)
        return "not refused"

    assert "await instead" in run_on_io_loop(outer(), timeout_s=5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_loop_of_its_own() -> None:
    parent_loop = io_loop()

    async def pid() -> int:
        return os.getpid()

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        ok = io_loop() is not parent_loop and run_on_io_loop(pid(), timeout_s=5) == os.getpid()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
