"""Settings: the environment, a saved `phoenix-llm` block, and which one wins."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from blocks.llm import LLMSettings, resolve_settings
from phoenix.settings import LOCAL_MODEL, SettingsError, load_settings


def test_defaults_need_no_configuration() -> None:
    settings = load_settings({})
    assert settings.llm_model == LOCAL_MODEL
    assert (settings.llm_concurrency, settings.orch_retries) == (16, 2)


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="PHOENIX_LLM_CONCURRENCY"):
        load_settings({"PHOENIX_LLM_CONCURRENCY": "lots"})


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


def test_an_empty_block_field_means_the_default(phoenix_home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOENIX_LLM_MODEL", raising=False)
    LLMSettings(model="").save("empty-block", overwrite=True)
    assert resolve_settings("empty-block").llm_model == LOCAL_MODEL


def test_no_block_means_environment_only(phoenix_home) -> None:
    assert resolve_settings("no-such-block").llm_model == load_settings().llm_model
