"""Phoenix's settings: one typed model, read from the `PHOENIX_*` environment variables.

Each field has one variable, `PHOENIX_` and its name in capitals (`llm_model` ← `PHOENIX_LLM_MODEL`);
pydantic parses the text, and a value it cannot use is a `SettingsError` that names the variable.
The names are a public contract (docs/design.md, "Environment").  A Prefect block in `blocks/` can
hold the same settings for deployments; `PhoenixSettings.merged_with` lets the environment win.

Why not pydantic-settings' `BaseSettings`: it re-reads the process's environment whenever a model is
validated, `model_validate` included, so settings handed to a task or a Dask worker would take that
process's variables for the fields left unset; and it needs a custom source anyway for a blank
variable that counts as unset and for reading a given mapping.  The mapping below is the whole job.
This module imports neither Prefect nor litellm so that `phoenix --help` stays fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from phoenix.errors import UsageError

LOCAL_MODEL = "local/smollm2"
"""The litellm model string of the embedded model that runs in-process (docs/design.md, "LLM")."""

LOCAL_EMBEDDING_MODEL = "local/all-MiniLM-L6-v2"
"""The embedding model that runs in-process from a packaged ONNX file (phoenix.llm.embeddings)."""

MAX_ORCHS = 512
"""The most ORCH sub-agents one propose-improvements run may fan out to."""

PREFIX = "PHOENIX_"

STORE_URL_PREFIXES = ("ducklake:postgres:",)
"""The shared-store catalogs Phoenix knows (docs/design.md, "State")."""

_PASSWORD_IN_CONNINFO = re.compile(r"(?i)\bpassword\s*=")
_PASSWORD_IN_URI = re.compile(r"://[^/@\s]*:[^/@\s]*@")


class SettingsError(UsageError, ValueError):
    """A setting has a value Phoenix cannot use; the message names the variable."""


class PhoenixSettings(BaseModel):
    """Everything Phoenix reads from its environment.

    `PhoenixSettings(...)` holds exactly the values given (defaults for the rest) and never reads
    the environment; `load_settings()` does.
    """

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
    embedding_model: str = Field(
        default=LOCAL_EMBEDDING_MODEL,
        description="The sentence-embedding model of vector memory: the packaged local model, or "
        "any litellm embedding model (asked for 384 dimensions).",
    )
    embedding_api_base: str | None = Field(
        default=None, description="Base URL of the embedding model's server, if not the provider's."
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, description="API key of the embedding model (default: PHOENIX_LLM_API_KEY)."
    )
    embedding_threads: int = Field(
        default=1, ge=1, le=64, description="CPU threads the local embedding model may use."
    )
    context_tokens: int = Field(
        default=1200,
        ge=0,
        le=100_000,
        description="Token budget of what a conversation turn recalls (earlier turns, memories).",
    )
    store_url: str | None = Field(
        default=None,
        description="The state store: unset for the DuckDB file under PHOENIX_HOME, or "
        "`ducklake:postgres:<libpq conninfo>` for a DuckLake shared by several machines "
        "(its password in PGPASSWORD or ~/.pgpass, never here).",
    )
    store_data_path: str | None = Field(
        default=None,
        description="Where the shared store keeps its data files: a folder every machine mounts "
        "at the same path, or an object store URL; default PHOENIX_HOME/lake-data/ (one machine).",
    )

    @field_validator("home")
    @classmethod
    def _expand_user(cls, home: Path) -> Path:
        return home.expanduser()

    @field_validator("store_url")
    @classmethod
    def _known_store(cls, url: str | None) -> str | None:
        """A known catalog, and no password in it: the URL is shown in status and error texts."""
        if url is None or not url.strip():
            return None
        url = url.strip()
        if not url.startswith(STORE_URL_PREFIXES) or not url.split(":", 2)[2].strip():
            raise ValueError(
                "expected empty (the DuckDB file under PHOENIX_HOME) or "
                "'ducklake:postgres:<libpq connection string>', e.g. "
                "'ducklake:postgres:dbname=phoenix host=db.example port=5432 user=phoenix'"
            )
        if _PASSWORD_IN_CONNINFO.search(url) or _PASSWORD_IN_URI.search(url):
            raise ValueError(
                "must not hold a password: put it in PGPASSWORD or ~/.pgpass, which libpq reads"
            )
        return url

    @property
    def store_data_location(self) -> str:
        """The shared store's data path, ending in '/' for a folder (DuckLake's DATA_PATH)."""
        location = self.store_data_path or str(self.home / "lake-data")
        return location if location.endswith("/") else location + "/"

    @property
    def database_path(self) -> Path:
        return self.home / "phoenix.duckdb"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    def merged_with(self, fallback: dict[str, Any]) -> PhoenixSettings:
        """Fill the fields the environment left unset from `fallback` (a block's values).

        "Set" is what these settings were made from (`model_fields_set`): a variable that was
        blank counts as unset, so the block fills it.
        """
        filled = {
            field: value
            for field, value in fallback.items()
            if field in type(self).model_fields
            and field not in self.model_fields_set
            and value is not None
        }
        return type(self).model_validate({**filled, **self.model_dump(include=self.model_fields_set)})


ENVIRONMENT: dict[str, str] = {
    f"{PREFIX}{field.upper()}": field for field in PhoenixSettings.model_fields
}
"""Environment variable → field name: the public names of every setting."""


def load_settings(environ: Mapping[str, str] | None = None) -> PhoenixSettings:
    """Read the settings from `environ` (the process's environment by default).

    Raises:
        SettingsError: a variable has a value Phoenix cannot use; the message names it.
    """
    environ = os.environ if environ is None else environ
    return validate_environment(PhoenixSettings, ENVIRONMENT, environ, heading="Invalid setting: ")


Model = TypeVar("Model", bound=BaseModel)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def strict_boolean(value: Any, expected: str = "true or false") -> Any:
    """A switch's text as a bool: true/false, yes/no, on/off, 1/0 — anything else is an error,
    never silently false (pydantic alone would refuse "on" and take "f").  Non-text passes."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected {expected}, not {value!r}")
    return value


def validate_environment(
    model: type[Model], variables: Mapping[str, str], environ: Mapping[str, str], heading: str = ""
) -> Model:
    """`model` from the variables of `environ` that `variables` maps to its fields.

    A blank variable counts as unset.  A value the model refuses is a `SettingsError` that names the
    variable (`heading` first): "MANDATE_GITHUB_CI: expected true or false, not 'maybe'".
    """
    given = {
        field: environ[name].strip()
        for name, field in variables.items()
        if environ.get(name, "").strip()
    }
    try:
        return model.model_validate(given)
    except ValidationError as error:
        names = {field: name for name, field in variables.items()}
        problems = []
        for item in error.errors():
            where = names.get(str(item["loc"][0]), "") if item["loc"] else ""
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise SettingsError(heading + "; ".join(problems)) from None
