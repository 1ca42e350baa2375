"""The web_search tool (being built)."""

from __future__ import annotations

from typing import Any

from phoenix.tools.run import ToolResult
from phoenix.tools.settings import ToolSettings


def run(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    return ToolResult(tool="web_search", ok=False, error="not built yet")
