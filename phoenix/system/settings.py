"""The settings of system commands, read from the environment.

`status` always works; `exec`, `read-file` and `write-file` act on this machine, so they are off
unless the operator turns them on (`PHOENIX_SYSTEM_COMMANDS=on`), and even then reach only the
workspace folder (`PHOENIX_WORKSPACE`, default `PHOENIX_HOME/workspace`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from phoenix.errors import SystemCommandsDisabled
from phoenix.settings import load_settings, strict_boolean, validate_environment

ENABLE_VARIABLE = "PHOENIX_SYSTEM_COMMANDS"

VARIABLES = {
    ENABLE_VARIABLE: "enabled",
    "PHOENIX_WORKSPACE": "workspace",
    "PHOENIX_SYSTEM_MAX_READ_BYTES": "max_read_bytes",
    "PHOENIX_SYSTEM_MAX_WRITE_BYTES": "max_write_bytes",
    "PHOENIX_SYSTEM_EXEC_TIMEOUT": "exec_timeout",
}
"""Environment variable → field: the public names of these settings."""


class SystemSettings(BaseModel):
    """What system commands may do; travels to the tasks as a value."""

    enabled: bool = Field(
        default=False, description="PHOENIX_SYSTEM_COMMANDS: exec, read-file and write-file."
    )
    workspace: Path = Field(description="The only folder exec, read-file and write-file reach.")
    max_read_bytes: int = Field(default=1_048_576, ge=1, description="Largest file read-file returns.")
    max_write_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest content write-file accepts (UTF-8 bytes)."
    )
    exec_timeout: float = Field(
        default=30.0, gt=0, le=3600, description="Seconds an exec may run (wall clock)."
    )

    @field_validator("enabled", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        """on/off, true/false, yes/no, 1/0 — anything else is an error, never silently off."""
        return strict_boolean(value, expected="on or off")

    @field_validator("workspace")
    @classmethod
    def _absolute(cls, workspace: Path) -> Path:
        return workspace.expanduser().absolute()

    def require_enabled(self, action: str) -> None:
        """Raise `SystemCommandsDisabled`, naming the variable, unless these commands are on."""
        if not self.enabled:
            raise SystemCommandsDisabled(
                f"system {action} is off: set {ENABLE_VARIABLE}=on to allow exec, read-file and"
                f" write-file (confined to {self.workspace})"
            )


def load_system_settings(environ: Mapping[str, str] | None = None) -> SystemSettings:
    """The settings in `environ` (the process's by default); raises `SettingsError` naming the
    variable of a value it cannot use."""
    environ = os.environ if environ is None else environ
    given = dict(environ)
    if not given.get("PHOENIX_WORKSPACE", "").strip():
        given["PHOENIX_WORKSPACE"] = str(load_settings(environ).home / "workspace")
    return validate_environment(SystemSettings, VARIABLES, given, heading="Invalid setting: ")
