"""The `phoenix-llm` block: which model Phoenix uses and how it calls it."""

from __future__ import annotations

from typing import Any, ClassVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from phoenix.settings import PhoenixSettings, load_settings

DEFAULT_BLOCK_NAME = "default"


class LLMSettings(Block):
    """LLM settings for Phoenix's flows; every field also has an environment variable, which wins."""

    _block_type_name: ClassVar[str] = "Phoenix LLM"
    _block_type_slug: ClassVar[str] = "phoenix-llm"
    _description: ClassVar[str] = "Model, endpoint and limits of the LLM that Phoenix's agents use."

    model: str | None = Field(
        default=None,
        description="A litellm model string (PHOENIX_LLM_MODEL); empty means the embedded model.",
    )
    api_base: str | None = Field(
        default=None, description="OpenAI-compatible server URL (PHOENIX_LLM_API_BASE)."
    )
    api_key: SecretStr | None = Field(default=None, description="API key (PHOENIX_LLM_API_KEY).")
    concurrency: int | None = Field(
        default=None, ge=1, description="LLM calls in flight at once (PHOENIX_LLM_CONCURRENCY)."
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Seconds per LLM call (PHOENIX_LLM_TIMEOUT)."
    )
    orch_retries: int | None = Field(
        default=None, ge=0, description="Retries per ORCH sub-agent (PHOENIX_ORCH_RETRIES)."
    )

    def as_settings_fields(self) -> dict[str, Any]:
        """The block's values as settings fields; an empty field means "not set here"."""
        fields = {
            "llm_model": self.model,
            "llm_api_base": self.api_base,
            "llm_api_key": self.api_key,
            "llm_concurrency": self.concurrency,
            "llm_timeout": self.timeout_s,
            "orch_retries": self.orch_retries,
        }
        return {name: value for name, value in fields.items() if _is_set(value)}


def _is_set(value: Any) -> bool:
    """A field left empty in the UI form (None, blank text, a blank secret) means "not set here"."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is not None and not (isinstance(value, str) and not value.strip())


def resolve_settings(block_name: str = DEFAULT_BLOCK_NAME) -> PhoenixSettings:
    """Phoenix's settings: the environment, then the saved block of that name, then defaults."""
    settings = load_settings()
    try:
        block = LLMSettings.load(block_name)
    except (ValueError, RuntimeError):
        # No block saved under that name (or no block type registered yet): environment only.
        return settings
    return settings.merged_with(block.as_settings_fields())
