"""`phoenix tools list | assign AGENT TOOL | unassign AGENT TOOL | exec TOOL [ARGS_JSON]`
(docs/design.md, "Command line").

Every verb runs the `tools` flow (on the local service when one runs).  `exec` prints the tool's
result `{"tool", "ok", "output", "error", ...}` and exits 1 when `ok` is false; ARGS_JSON that is
not a JSON object is a usage error (exit 2) before anything starts.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from phoenix.errors import UsageError


def add_tool_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """The parser of `phoenix tools`, added to `phoenix`'s subcommands."""
    tools = commands.add_parser("tools", help="the agents' tools: list, assign, run one")
    verbs = tools.add_subparsers(dest="action", required=True, parser_class=parser_class)
    listing = verbs.add_parser("list", help="every tool and its arguments; who has which")
    listing.add_argument("--agent", default=None, help="mark the tools of this agent (id or name)")
    for verb, text in [("assign", "let AGENT use TOOL"), ("unassign", "take TOOL from AGENT")]:
        parser = verbs.add_parser(verb, help=text)
        parser.add_argument("agent", help="the agent's id or name")
        parser.add_argument("tool", help="a tool's name (see: phoenix tools list)")
    run = verbs.add_parser("exec", help="run TOOL once with ARGS_JSON, in the sandbox")
    run.add_argument("tool")
    run.add_argument(
        "arguments", nargs="?", default="{}", metavar="ARGS_JSON",
        help='the arguments as a JSON object, e.g. \'{"code": "print(1)"}\' (default {})',
    )  # fmt: skip
    tools.set_defaults(handler=run_tools)


def parse_arguments(text: str) -> dict[str, Any]:
    """ARGS_JSON as an object; anything else is a one-line usage error."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UsageError(f"ARGS_JSON is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError(f"ARGS_JSON must be a JSON object, not {type(value).__name__}")
    return value


def run_tools(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix.cli import run_flow

    if options.action == "list":
        return dict(run_flow("tools", {"action": "list", "agent": options.agent}))
    if options.action in ("assign", "unassign"):
        return dict(
            run_flow("tools", {"action": options.action, "agent": options.agent, "tool": options.tool})
        )
    arguments = parse_arguments(options.arguments)  # before any server starts
    result = dict(run_flow("tools", {"action": "exec", "tool": options.tool, "arguments": arguments}))
    if not result.get("ok"):  # the result stays whole; `type: error` makes the exit status 1
        message = f"{result.get('tool')}: {result.get('error') or 'failed'}"
        result |= {"type": "error", "code": "tool_failed", "message": message}
    return result
