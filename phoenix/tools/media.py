"""Image and audio generation (being built)."""

from __future__ import annotations

from typing import Any

from phoenix.tools.run import ToolResult
from phoenix.tools.settings import ToolSettings


def run_image(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    return ToolResult(tool="image_generation", ok=False, kind="image", error="not built yet")


def run_audio(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    return ToolResult(tool="audio_generation", ok=False, kind="audio", error="not built yet")
