"""The `phoenix-tools` block: what the agents' tools reach and how tightly the sandbox holds them.
Every field has an environment variable (`phoenix.tools.settings.VARIABLES`), which wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.form import filled_fields, saved_block
from phoenix.tools.settings import ToolSettings, load_tool_settings

DEFAULT_BLOCK_NAME = "default"


class ToolsBlock(Block):
    """The tools' endpoints, keys and sandbox limits; empty means "not set here" (the
    environment, else the default, decides)."""

    _block_type_name: ClassVar[str] = "Phoenix Tools"
    _block_type_slug: ClassVar[str] = "phoenix-tools"
    _description: ClassVar[str] = (
        "The endpoints and keys of the agents' tools (web search, image and speech generation),"
        " whether the terminal runs, and the limits of the sandbox that runs code."
    )

    mock: bool | None = Field(
        default=None, description="Deterministic outputs, nothing real runs (SIMULATED_TOOLS_MOCK)."
    )
    search_url: str | None = Field(
        default=None, description="A SearxNG-compatible JSON endpoint (PHOENIX_SEARCH_URL)."
    )
    terminal_enabled: bool | None = Field(
        default=None, description="Let agents run allow-listed commands (PHOENIX_TERMINAL_ENABLED)."
    )
    terminal_allow: list[str] | None = Field(
        default=None, description="Program names the terminal may run (PHOENIX_TERMINAL_ALLOW)."
    )
    image_api_url: str | None = Field(
        default=None, description="An AUTOMATIC1111-style txt2img URL (STABLE_DIFFUSION_API_URL)."
    )
    image_api_key: SecretStr | None = Field(
        default=None, description="Its API key (STABLE_DIFFUSION_API_KEY)."
    )
    tts_api_url: str | None = Field(default=None, description="A text-to-speech endpoint (TTS_API_URL).")
    tts_api_key: SecretStr | None = Field(default=None, description="Its API key (TTS_API_KEY).")
    sandbox_timeout: float | None = Field(
        default=None, gt=0, description="Wall seconds per sandboxed run (PHOENIX_SANDBOX_TIMEOUT)."
    )
    sandbox_memory_mb: int | None = Field(
        default=None, ge=32, description="Address space per run, MB (PHOENIX_SANDBOX_MEMORY_MB)."
    )
    sandbox_processes: int | None = Field(
        default=None, ge=1, description="Most processes per run (PHOENIX_SANDBOX_PROCESSES)."
    )
    sandbox_output_bytes: int | None = Field(
        default=None, ge=256, description="Most output kept per stream (PHOENIX_SANDBOX_OUTPUT_BYTES)."
    )
    sql_row_limit: int | None = Field(
        default=None, ge=1, description="Most rows a database query returns (PHOENIX_SQL_ROW_LIMIT)."
    )

    def as_settings_fields(self) -> dict[str, Any]:
        """The block's values as `ToolSettings` fields; an empty field means "not set here"."""
        return filled_fields(self, _FIELDS)


_FIELDS = frozenset(ToolSettings.model_fields)


def resolve_tool_settings(
    block_name: str = DEFAULT_BLOCK_NAME, environ: Mapping[str, str] | None = None
) -> ToolSettings:
    """The tool settings: the environment, then the saved block of that name, then defaults.

    No saved block (or no registered block type) means the environment and defaults only; an
    unreachable Prefect API is an error, as for `blocks.llm.resolve_settings`.
    """
    environ = os.environ if environ is None else environ
    block = saved_block(ToolsBlock, block_name)
    fallback = block.as_settings_fields() if isinstance(block, ToolsBlock) else None
    return load_tool_settings(environ, fallback)
