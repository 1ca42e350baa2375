"""SIMULATED_TOOLS_MOCK (being built)."""

from __future__ import annotations

from typing import Any

from phoenix.tools.run import ToolResult
from phoenix.tools.settings import ToolSettings


def mock_result(name: str, arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    return ToolResult(tool=name, ok=False, mock=True, error="not built yet")
