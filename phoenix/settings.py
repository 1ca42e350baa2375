"""Phoenix's settings: one typed model, read from the environment.

The environment names are a public contract (DESIGN.md §2).  A Prefect block in `blocks/` can hold the
same settings for deployments; `PhoenixSettings.merged_with` lets the environment win over it.
This module imports neither Prefect nor litellm so that `phoenix --help` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError

LOCAL_MODEL = "local/smollm2"
"""The litellm model string of the embedded model that runs in-process (DESIGN.md §3)."""

MAX_ORCHS = 512
"""The most ORCH sub-agents one propose-improvements run may fan out to."""

# Environment variable -> field name.  Only variables that are set take part.
ENVIRONMENT = {
    "PHOENIX_HOME": "home",
    "PHOENIX_LLM_MODEL": "llm_model",
    "PHOENIX_LLM_API_BASE": "llm_api_base",
    "PHOENIX_LLM_API_KEY": "llm_api_key",
    "PHOENIX_LLM_CONCURRENCY": "llm_concurrency",
    "PHOENIX_LLM_TIMEOUT": "llm_timeout",
    "PHOENIX_LLM_MAX_TOKENS": "llm_max_tokens",
    "PHOENIX_ORCH_RETRIES": "orch_retries",
    "PHOENIX_ORCH_RETRY_DELAY": "orch_retry_delay",
    "PHOENIX_API_TOKEN": "api_token",
    "PHOENIX_BUILD_TIMEOUT": "build_timeout",
    "PHOENIX_COMMAND_TIMEOUT": "command_timeout",
}


class SettingsError(ValueError):
    """A setting has a value Phoenix cannot use; the message names the variable."""


class PhoenixSettings(BaseModel):
    """Everything Phoenix reads from its environment."""

    home: Path = Field(
        default_factory=lambda: Path.home() / ".phoenix",
        description="PHOENIX_HOME: the DuckDB file, cloned repos, logs and the local servers' state.",
    )
    llm_model: str = Field(
        default=LOCAL_MODEL, description="Any litellm model string; the default runs in-process."
    )
    llm_api_base: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible server (vLLM, Ollama, ...)."
    )
    llm_api_key: SecretStr | None = Field(default=None, description="API key for the LLM server.")
    llm_concurrency: int = Field(default=16, ge=1, le=4096, description="LLM calls in flight.")
    llm_timeout: float = Field(default=120.0, gt=0, description="Seconds allowed per LLM call.")
    llm_max_tokens: int = Field(default=256, ge=1, description="Longest answer asked of the LLM.")
    orch_retries: int = Field(default=2, ge=0, le=20, description="Retries per ORCH sub-agent.")
    orch_retry_delay: float = Field(
        default=1.0, ge=0, description="Base of the exponential backoff between ORCH retries (s)."
    )
    api_token: SecretStr | None = Field(default=None, description="Bearer token of the HTTP API.")
    build_timeout: float = Field(default=1800.0, gt=0, description="Seconds per build step.")
    command_timeout: float = Field(
        default=600.0, gt=0, description="Seconds a repository command may run."
    )

    @property
    def database_path(self) -> Path:
        return self.home / "phoenix.duckdb"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    def merged_with(self, fallback: dict[str, Any]) -> PhoenixSettings:
        """Fill the fields the environment left unset from `fallback` (a block's values)."""
        from_environment = {
            field for name, field in ENVIRONMENT.items() if os.environ.get(name, "").strip()
        }
        values = self.model_dump()
        for field, value in fallback.items():
            if field in values and field not in from_environment and value is not None:
                values[field] = value
        return PhoenixSettings.model_validate(values)


def load_settings(environ: dict[str, str] | None = None) -> PhoenixSettings:
    """Read the settings from the environment, with a clear error for a bad value."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, field in ENVIRONMENT.items():
        raw = environ.get(name)
        if raw is not None and raw.strip() != "":
            values[field] = raw.strip()
    if "home" in values:
        values["home"] = Path(values["home"]).expanduser()
    try:
        return PhoenixSettings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            variable = next((k for k, v in ENVIRONMENT.items() if v == field), field)
            problems.append(f"{variable}: {error['msg']}")
        raise SettingsError("Invalid setting: " + "; ".join(problems)) from None
