"""`phoenix mcp`: Phoenix's tools as a Model Context Protocol server, for other agents to use.

`tools/list` publishes every tool of the registry (`phoenix.tools.registry.TOOLS`) with its JSON
schema as it is — the same schema the tool agent's LLM sees and `run_tool` checks.  `tools/call`
runs the tool through the `tools` flow's exec action, so each call is a flow run in the Prefect UI
with its `tool` task, and goes through the same sandbox, settings (`phoenix-tools` block, the
environment winning) and mock mode (`SIMULATED_TOOLS_MOCK`) as `phoenix tools exec`.

A tool's own failure (bad arguments, a sandboxed program that failed, an unknown tool) is a result
with `isError` set, which the calling model can read and correct; the structured content is the
`phoenix tools exec --json` document.  Transport: stdio by default (how agents launch servers;
stdout is the protocol, every log goes to stderr), or streamable HTTP on 127.0.0.1 behind the API's
bearer token (`--http`).

Uses the SDK's low-level `mcp.server.lowlevel.Server` rather than its decorator front end: the
tools are data (a registry with schemas), not Python functions to introspect.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import threading
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server

from phoenix import __version__
from phoenix.tools.registry import TOOLS

logger = logging.getLogger("phoenix.mcp")

SERVER_NAME = "phoenix"
MAX_MEDIA_BYTES = 8 * 1024 * 1024
"""Largest generated image or audio file returned inline (base64); a bigger one is named only."""

_prefect_ready = threading.Lock()
_prepared = False


def list_tools() -> list[types.Tool]:
    """Every tool of the registry, its schema published as it is."""
    return [
        types.Tool(name=spec.name, description=spec.description, input_schema=spec.parameters)
        for spec in TOOLS.values()
    ]


def _prepare_prefect() -> None:
    """Point this process at Phoenix's Prefect server once, on the first call (not at start-up,
    so that an agent's `initialize` and `tools/list` answer at once)."""
    global _prepared
    with _prefect_ready:
        if not _prepared:
            from phoenix.cli import _prepare_prefect as prepare

            prepare()
            _prepared = True


def run_tool_through_flow(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One tool call as a run of the `tools` flow (exec), its result as `phoenix tools exec`."""
    _prepare_prefect()
    from flows import run_flow

    return dict(run_flow("tools", {"action": "exec", "tool": name, "arguments": arguments}))


def _media(result: dict[str, Any]) -> list[types.ContentBlock]:
    """A generated image or audio file inline, when it is small enough to send."""
    path = Path(str(result.get("output") or ""))
    if result.get("kind") not in ("image", "audio") or not path.is_file():
        return []
    if path.stat().st_size > MAX_MEDIA_BYTES:
        return []
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = mimetypes.guess_type(path.name)[0]
    if result["kind"] == "image":
        return [types.ImageContent(data=data, mime_type=mime or "image/png")]
    return [types.AudioContent(data=data, mime_type=mime or "audio/wav")]


def tool_result(result: dict[str, Any]) -> types.CallToolResult:
    """A `phoenix tools exec` document as an MCP result: the output (or the error) as text, an
    image or audio file inline, the whole document as structured content."""
    ok = bool(result.get("ok"))
    text = str(result.get("output") if ok else result.get("error") or "failed") or ""
    content: list[types.ContentBlock] = [types.TextContent(text=text)]
    if ok:
        content += _media(result)
    return types.CallToolResult(content=content, structured_content=result, is_error=not ok)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def call_tool(name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
    """Run one tool; every failure is an error result, never a crashed server."""
    from phoenix.errors import PhoenixError

    if name not in TOOLS:
        return _error(f"No tool named {name!r}; the tools are: {', '.join(TOOLS)}")
    try:
        return tool_result(run_tool_through_flow(name, arguments or {}))
    except PhoenixError as error:
        return _error(error.message)
    except Exception:  # a crash stays in this call: the next one must still be served
        logger.exception("The tool %s crashed", name)
        return _error(f"The tool {name} crashed (see the server's log on stderr)")


def build_server() -> Server[Any]:
    """The MCP server: `tools/list` and `tools/call` over the registry."""
    import anyio

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=list_tools())

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        # Flows are synchronous and take seconds: in a worker thread, the loop keeps serving.
        return await anyio.to_thread.run_sync(call_tool, params.name, params.arguments)

    return Server(
        SERVER_NAME,
        version=__version__,
        title="Phoenix tools",
        instructions="Phoenix's tools (web search, sandboxed code, database, terminal, sniffer,"
        " image and audio generation). Each call runs as a Prefect flow run.",
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


def serve_stdio() -> None:
    """Serve one client over stdin/stdout until it closes stdin."""
    import anyio
    from mcp.server.stdio import stdio_server

    server = build_server()

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)


def serve_http(port: int, token: str) -> None:
    """Serve streamable HTTP at http://127.0.0.1:PORT/mcp, every request with the bearer token."""
    import secrets

    import uvicorn
    from starlette.responses import JSONResponse

    app = build_server().streamable_http_app(host="127.0.0.1")

    async def with_token(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
                refusal = JSONResponse(
                    {"message": "Missing or wrong bearer token (see PHOENIX_API_TOKEN)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await refusal(scope, receive, send)
                return
        await app(scope, receive, send)

    uvicorn.run(with_token, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
