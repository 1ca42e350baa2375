"""`phoenix mcp`: serve Phoenix's tools over the Model Context Protocol (`phoenix.mcp_server`).

Over stdio (the default, how an agent launches an MCP server) stdout belongs to the protocol: the
command prints nothing else there, not even its own result, and logs go to stderr.  With `--http`
it serves streamable HTTP on 127.0.0.1 behind the API's bearer token (PHOENIX_API_TOKEN, or the
token Phoenix keeps under PHOENIX_HOME) and, once stopped, prints its result as other commands do.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from phoenix.errors import UsageError
from phoenix.settings import load_settings

MCP_HELP = "serve Phoenix's tools to other agents over the Model Context Protocol (stdio)"


def add_mcp_command(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """The parser of `phoenix mcp`, added to `phoenix`'s subcommands."""
    mcp = commands.add_parser(
        "mcp",
        help=MCP_HELP,
        description="Serve every Phoenix tool (phoenix tools list) as an MCP server. Each call runs"
        " the tools flow (a Prefect flow run), in the sandbox, honouring SIMULATED_TOOLS_MOCK."
        ' Example client configuration: {"command": "phoenix", "args": ["mcp"]}.',
    )
    mcp.add_argument(
        "--http", action="store_true",
        help="serve streamable HTTP at http://127.0.0.1:PORT/mcp (bearer token: PHOENIX_API_TOKEN)",
    )  # fmt: skip
    mcp.add_argument("--port", type=int, default=8765, help="with --http (default 8765)")
    mcp.set_defaults(handler=run_mcp)


def run_mcp(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix import mcp_server

    settings = load_settings()  # a bad setting is a usage error before anything is served
    if not options.http:
        mcp_server.serve_stdio()
        sys.stdout.flush()
        raise SystemExit(0)  # the client hung up: nothing more belongs on its wire
    if not 0 < options.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {options.port}")
    from phoenix.api_token import resolve_api_token

    token, kept_in = resolve_api_token(settings)
    where = f" (kept in {kept_in})" if kept_in else " (PHOENIX_API_TOKEN)"
    print(
        f"phoenix mcp: http://127.0.0.1:{options.port}/mcp, bearer token{where}",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        mcp_server.serve_http(options.port, token)
    return {"stopped": True, "url": f"http://127.0.0.1:{options.port}/mcp"}
