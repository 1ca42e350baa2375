"""What the tools may do and where they reach: `ToolSettings`, read from the environment.

The original system's variables keep their names (`SIMULATED_TOOLS_MOCK`,
`STABLE_DIFFUSION_API_URL/KEY`, `TTS_API_URL/KEY`); Phoenix's own are `PHOENIX_*`.  The
`phoenix-tools` block (blocks/tools.py) can hold the same fields for deployments, and the
environment wins over it (`blocks.tools.resolve_tool_settings`).

The terminal is off unless `PHOENIX_TERMINAL_ENABLED` is true, and then runs only the commands of
`PHOENIX_TERMINAL_ALLOW` (comma-separated program names; the default is a few read-only ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from phoenix.settings import SettingsError, strict_boolean, validate_environment

DEFAULT_TERMINAL_ALLOW = (
    "ls", "cat", "echo", "head", "tail", "wc", "grep", "sort", "uniq", "date", "pwd", "uname",
    "whoami", "id", "true", "false", "sleep",
)  # fmt: skip
"""Programs the terminal runs when enabled and nothing else is configured: they read, count and
print.  No shell, no `env`, no interpreter: each of those would run its arguments as a program
and make the list meaningless (an operator may still allow them; they run in the same sandbox)."""

VARIABLES: dict[str, str] = {
    "SIMULATED_TOOLS_MOCK": "mock",
    "PHOENIX_SEARCH_URL": "search_url",
    "PHOENIX_TERMINAL_ENABLED": "terminal_enabled",
    "PHOENIX_TERMINAL_ALLOW": "terminal_allow",
    "STABLE_DIFFUSION_API_URL": "image_api_url",
    "STABLE_DIFFUSION_API_KEY": "image_api_key",
    "TTS_API_URL": "tts_api_url",
    "TTS_API_KEY": "tts_api_key",
    "PHOENIX_SANDBOX_TIMEOUT": "sandbox_timeout",
    "PHOENIX_SANDBOX_MEMORY_MB": "sandbox_memory_mb",
    "PHOENIX_SANDBOX_PROCESSES": "sandbox_processes",
    "PHOENIX_SANDBOX_OUTPUT_BYTES": "sandbox_output_bytes",
    "PHOENIX_SANDBOX_FILE_MB": "sandbox_file_mb",
    "PHOENIX_SQL_ROW_LIMIT": "sql_row_limit",
    "PHOENIX_TOOL_HTTP_TIMEOUT": "http_timeout",
}
"""Environment variable → field (docs/design.md, "Environment")."""


class ToolSettings(BaseModel):
    """Everything the tools read from their configuration; passed to tasks as a value."""

    home: Path | None = Field(
        default=None, description="PHOENIX_HOME (media, sandbox folders, the database)."
    )
    mock: bool = Field(default=False, description="Deterministic outputs, nothing real runs.")
    search_url: str | None = Field(default=None, description="A SearxNG-compatible endpoint.")
    terminal_enabled: bool = Field(default=False, description="Whether the terminal tool runs.")
    terminal_allow: tuple[str, ...] = Field(
        default=DEFAULT_TERMINAL_ALLOW, description="Program names the terminal may run."
    )
    image_api_url: str | None = Field(default=None, description="AUTOMATIC1111-style txt2img URL.")
    image_api_key: SecretStr | None = Field(default=None, description="Its API key.")
    tts_api_url: str | None = Field(default=None, description="A text-to-speech endpoint.")
    tts_api_key: SecretStr | None = Field(default=None, description="Its API key.")
    sandbox_timeout: float = Field(default=10.0, gt=0, le=3600, description="Wall seconds.")
    sandbox_memory_mb: int = Field(default=512, ge=32, le=65536, description="Address space, MB.")
    sandbox_processes: int = Field(default=32, ge=1, le=4096, description="Most processes.")
    sandbox_output_bytes: int = Field(
        default=65536, ge=256, le=64 * 1024 * 1024, description="Most bytes kept per stream."
    )
    sandbox_file_mb: int = Field(default=64, ge=1, le=65536, description="Largest file written.")
    sql_row_limit: int = Field(default=200, ge=1, le=100_000, description="Rows a query returns.")
    http_timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per HTTP call.")

    @field_validator("mock", "terminal_enabled", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> Any:
        """true/false, yes/no, on/off, 1/0 — anything else is an error, never silently false."""
        return strict_boolean(value)

    @field_validator("terminal_allow", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """A comma-separated list of program names (never paths: the sandbox's PATH finds them)."""
        if isinstance(value, str):
            value = [name.strip() for name in value.split(",") if name.strip()]
        for name in value or ():
            if "/" in name or not name.strip():
                raise ValueError(f"{name!r} is not a program name (no paths)")
        return tuple(value or ())


def load_tool_settings(
    environ: Mapping[str, str] | None = None,
    fallback: Mapping[str, Any] | None = None,
    home: Path | None = None,
) -> ToolSettings:
    """The tool settings of `environ` (this process's by default); a blank variable is unset.

    `fallback` (a saved `phoenix-tools` block's fields) fills only what the environment leaves
    unset.  `home` defaults to PHOENIX_HOME as `phoenix.settings.load_settings` reads it.
    Raises `SettingsError` naming the variable.
    """
    import os

    from phoenix.settings import load_settings

    environ = os.environ if environ is None else environ
    settings = validate_environment(ToolSettings, VARIABLES, environ, heading="Invalid setting: ")
    given = settings.model_dump(include=settings.model_fields_set)
    filled = {
        field: value
        for field, value in (fallback or {}).items()
        if field in ToolSettings.model_fields and field not in given and value is not None
    }
    given["home"] = home if home is not None else load_settings(environ).home
    try:
        return ToolSettings.model_validate({**filled, **given})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise SettingsError(f"Invalid setting in the phoenix-tools block: {problems}") from None
