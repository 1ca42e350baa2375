"""`phoenix mcp` as another agent sees it: the MCP SDK's own client launches the real `phoenix mcp`
over stdio, lists the tools (names and schemas exactly as the registry has them), calls them — each
call a run of the `tools` flow on the session's Prefect server — and gets error results for an
unknown tool and for bad arguments.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from phoenix.tools.registry import TOOLS
from tests.conftest import PHOENIX

Session = Callable[[ClientSession], Awaitable[Any]]


def with_server(home: Path, work: Session, **environment: str) -> Any:
    """Run `work` against a `phoenix mcp` launched the way an agent launches it."""
    parameters = StdioServerParameters(
        command=PHOENIX,
        args=["mcp"],
        # The client passes only a few basics on: Phoenix's and Prefect's variables go explicitly.
        env={
            name: value
            for name, value in os.environ.items()
            if name.startswith(("PHOENIX_", "PREFECT_"))
        }
        | {"PHOENIX_HOME": str(home), "PHOENIX_CLI_IN_PROCESS": "1"}
        | environment,
    )

    async def main() -> Any:
        with (home / "mcp-stderr.log").open("w") as errors:  # the server's logs, for a failure
            async with (
                stdio_client(parameters, errlog=errors) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await work(session)

    return anyio.run(main)


def tool_runs(tool: str) -> list[Any]:
    """The `tools` flow runs that ran `tool` (on the session's Prefect server)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["tools"])))
    return [run for run in runs if run.parameters.get("tool") == tool]


def test_the_registry_is_listed_and_called_as_mock_tools(tmp_path: Path) -> None:
    async def work(session: ClientSession) -> Any:
        listed = await session.list_tools()
        searched = await session.call_tool("web_search", {"query": "phoenix bird", "limit": 2})
        unknown = await session.call_tool("rm_rf", {})
        bad = await session.call_tool("web_search", {"limit": 2})
        return listed, searched, unknown, bad

    runs_before = len(tool_runs("web_search"))
    listed, searched, unknown, bad = with_server(tmp_path, work, SIMULATED_TOOLS_MOCK="true")

    assert {tool.name for tool in listed.tools} == set(TOOLS)
    for tool in listed.tools:
        assert tool.input_schema == TOOLS[tool.name].parameters
        assert tool.description == TOOLS[tool.name].description

    assert searched.is_error is False
    assert searched.content[0].text.startswith("1. [mock] phoenix bird")
    assert searched.structured_content["mock"] is True and searched.structured_content["ok"] is True

    assert unknown.is_error is True and "No tool named 'rm_rf'" in unknown.content[0].text
    assert bad.is_error is True and "query" in bad.content[0].text
    # Each call of a known tool was a run of the tools flow.
    assert len(tool_runs("web_search")) == runs_before + 2


def test_a_real_call_runs_in_the_sandbox(tmp_path: Path) -> None:
    async def work(session: ClientSession) -> Any:
        return await session.call_tool(
            "code_interpreter", {"code": "print(2 + 2)", "language": "python"}
        )

    result = with_server(tmp_path, work, SIMULATED_TOOLS_MOCK="false")
    assert result.is_error is False, result.content
    assert result.content[0].text.strip() == "4"
    assert result.structured_content["mock"] is False
    assert "separate-process" in result.structured_content["isolation"]
