"""git smart-HTTP through `git http-backend`, run as a CGI program per request.

The request body is streamed into the backend (a push over 1 MB arrives chunked, without a length:
the backend then reads to end of input) while its output is read, so neither side can fill a pipe
and wait for the other; the pack it answers with is streamed back as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from phoenix.forge.repos import git_environment

CHUNK = 64 * 1024


async def _feed(request: Request, stdin: asyncio.StreamWriter) -> None:
    try:
        async for chunk in request.stream():
            if chunk:
                stdin.write(chunk)
                await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()


async def serve(
    request: Request,
    root: Path,
    path_info: str,
    remote_user: str | None,
    finished: Callable[[int], Awaitable[None]] | None = None,
) -> StreamingResponse:
    """Answer a smart-HTTP request for `root/<path_info>` as `remote_user` (None: anonymous).

    `finished` is awaited with the backend's exit status once it has ended, before the response's
    last chunk: what it does (the CI runner's `pending` status) is there when the push returns.
    """
    environment = git_environment() | {
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
        "GIT_PROTOCOL": request.headers.get("git-protocol", ""),
        "REMOTE_ADDR": request.client.host if request.client else "",
    }
    if "content-length" in request.headers:
        environment["CONTENT_LENGTH"] = request.headers["content-length"]
    if remote_user:
        environment["REMOTE_USER"] = remote_user
    process = await asyncio.create_subprocess_exec(
        "git", "http-backend",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, env=environment,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    feeding = asyncio.create_task(_feed(request, process.stdin))
    status, headers = 200, {}
    while True:
        line = (await process.stdout.readline()).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers[name.strip()] = value.strip()

    async def body() -> AsyncIterator[bytes]:
        assert process.stdout is not None
        try:
            while chunk := await process.stdout.read(CHUNK):
                yield chunk
        finally:
            await feeding
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError, TimeoutError):
                    await asyncio.wait_for(process.wait(), timeout=30)
        if finished is not None and process.returncode is not None:
            await finished(process.returncode)

    return PipeResponse(body(), status_code=status, headers=headers)


class PipeResponse(StreamingResponse):
    """A streamed response that leaves the request body alone.

    Starlette's `StreamingResponse` listens for a disconnect while it streams, by reading request
    messages, and so swallows the rest of a push the backend is still reading (it then waits
    forever for its report). Here only `_feed` reads the request.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async for chunk in self.body_iterator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
