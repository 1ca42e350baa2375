"""Settings: the environment, a saved `phoenix-llm` block, and which one wins."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from blocks.llm import LLMSettings, resolve_settings
from phoenix.errors import UsageError, exit_code_for
from phoenix.settings import (
    ENVIRONMENT,
    LOCAL_MODEL,
    PhoenixSettings,
    SettingsError,
    load_settings,
)


def test_defaults_need_no_configuration() -> None:
    settings = load_settings({})
    assert settings.llm_model == LOCAL_MODEL
    assert (settings.llm_concurrency, settings.orch_retries) == (16, 2)


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"PHOENIX_LLM_CONCURRENCY": "lots", "PHOENIX_LLM_TIMEOUT": "-1"})
    message = str(raised.value)
    assert message.startswith("Invalid setting: PHOENIX_LLM_CONCURRENCY: ")
    assert "PHOENIX_LLM_TIMEOUT: Input should be greater than 0" in message
    # A Phoenix error like any other: the CLI exits 2 with it, as for a usage error.
    assert isinstance(raised.value, UsageError)
    assert exit_code_for(raised.value.code) == 2


def test_every_field_has_its_public_variable() -> None:
    assert ENVIRONMENT == {
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
        "PHOENIX_STORE_URL": "store_url",
        "PHOENIX_STORE_DATA_PATH": "store_data_path",
        "PHOENIX_EMBEDDING_MODEL": "embedding_model",
        "PHOENIX_EMBEDDING_API_BASE": "embedding_api_base",
        "PHOENIX_EMBEDDING_API_KEY": "embedding_api_key",
        "PHOENIX_EMBEDDING_THREADS": "embedding_threads",
        "PHOENIX_CONTEXT_TOKENS": "context_tokens",
    }
    settings = load_settings(
        {name: "7" for name in ENVIRONMENT}
        | {"PHOENIX_HOME": "/srv/p", "PHOENIX_STORE_URL": "ducklake:postgres:dbname=p"}
    )
    assert settings.model_fields_set == set(ENVIRONMENT.values())


def test_values_are_trimmed_blank_ones_are_unset_and_home_expands_the_tilde() -> None:
    settings = load_settings(
        {
            "PHOENIX_HOME": "~/phoenix-state",
            "PHOENIX_LLM_CONCURRENCY": " 3 ",
            "PHOENIX_LLM_TIMEOUT": "   ",
            "PHOENIX_LLM_MODEL": "",
            "phoenix_llm_max_tokens": "9",  # variable names are case-sensitive
        }
    )
    assert settings.home == Path.home() / "phoenix-state"
    assert settings.llm_concurrency == 3
    assert (settings.llm_timeout, settings.llm_model, settings.llm_max_tokens) == (
        120.0,
        LOCAL_MODEL,
        256,
    )
    assert settings.model_fields_set == {"home", "llm_concurrency"}


def test_only_load_settings_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings travel to tasks and Dask workers as values: rebuilding them reads nothing."""
    monkeypatch.setenv("PHOENIX_LLM_MODEL", "openai/from-environment")
    assert load_settings().llm_model == "openai/from-environment"
    assert load_settings({}).llm_model == LOCAL_MODEL
    assert PhoenixSettings().llm_model == LOCAL_MODEL
    assert PhoenixSettings.model_validate({}).llm_model == LOCAL_MODEL
    given = load_settings({"PHOENIX_LLM_CONCURRENCY": "4"})
    assert given.merged_with({}).llm_model == LOCAL_MODEL


def test_the_environment_wins_over_a_fallback_and_a_blank_variable_lets_it_fill() -> None:
    fallback = {"llm_model": "openai/block", "llm_concurrency": 5, "no_such_field": 1}
    settings = load_settings({"PHOENIX_LLM_MODEL": "openai/env", "PHOENIX_LLM_CONCURRENCY": "  "})
    merged = settings.merged_with(fallback)
    assert (merged.llm_model, merged.llm_concurrency) == ("openai/env", 5)
    # What the block filled counts as set from then on: a second fallback does not override it.
    assert merged.merged_with({"llm_concurrency": 9}).llm_concurrency == 5


def test_a_saved_block_fills_what_the_environment_leaves_unset(
    phoenix_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    LLMSettings(
        model="openai/from-block",
        api_base="http://127.0.0.1:9/v1",
        api_key=SecretStr("block-secret"),
        concurrency=3,
        timeout_s=None,
    ).save("test-block", overwrite=True)
    for name in ("PHOENIX_LLM_MODEL", "PHOENIX_LLM_API_BASE", "PHOENIX_LLM_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PHOENIX_LLM_CONCURRENCY", "  ")
    settings = resolve_settings("test-block")
    assert settings.llm_model == "openai/from-block"
    assert settings.llm_concurrency == 3
    assert settings.llm_api_key is not None
    assert settings.llm_api_key.get_secret_value() == "block-secret"

    monkeypatch.setenv("PHOENIX_LLM_MODEL", "openai/from-environment")
    assert resolve_settings("test-block").llm_model == "openai/from-environment"


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_block_field_means_the_default(
    phoenix_home, monkeypatch: pytest.MonkeyPatch, blank: str
) -> None:
    for name in ("PHOENIX_LLM_MODEL", "PHOENIX_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    LLMSettings(model=blank, api_key=SecretStr(blank)).save("blank-block", overwrite=True)
    settings = resolve_settings("blank-block")
    assert (settings.llm_model, settings.llm_api_key) == (LOCAL_MODEL, None)


def test_no_block_means_environment_only(phoenix_home) -> None:
    assert resolve_settings("no-such-block").llm_model == load_settings().llm_model
