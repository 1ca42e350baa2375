"""The LLM client sorts failures: authentication is final and named, and the key never leaks.

Calls go through litellm's real HTTP path to the scripted chat server, or — for a missing key —
stop inside the OpenAI client before any request, as they would against a hosted model.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from phoenix.llm.client import (
    LLMAuthError,
    LLMRetryableError,
    _import_litellm,
    complete,
    price_unknown_model,
)
from phoenix.settings import load_settings
from tests.conftest import ChatServer

MESSAGES = [{"role": "user", "content": "Propose one improvement (ORCH-0)."}]
AUTH_MESSAGE = "authentication failed: set PHOENIX_LLM_API_KEY"


@pytest.mark.parametrize("api_base", [True, False], ids=["scripted-server", "hosted-default"])
def test_a_missing_key_is_a_final_authentication_error(
    chat: ChatServer, chat_server_url: str, monkeypatch: pytest.MonkeyPatch, api_base: bool
) -> None:
    monkeypatch.setenv("PHOENIX_LLM_MODEL", "openai/x")
    monkeypatch.delenv("PHOENIX_LLM_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    if not api_base:
        monkeypatch.delenv("PHOENIX_LLM_API_BASE")
    with pytest.raises(LLMAuthError) as raised:
        complete(MESSAGES, load_settings())
    assert raised.value.retryable is False
    assert raised.value.message.startswith(AUTH_MESSAGE)
    assert "openai/x" in raised.value.message
    assert "InternalServerError" not in raised.value.message
    assert chat.stats()["requests"] == 0, "no request may leave without a key"


def test_a_401_is_a_final_authentication_error_and_the_echoed_key_is_redacted(
    chat: ChatServer,
) -> None:
    chat.control(require_api_key="another-key", echo_api_key=True)
    # The server really quotes the key it was given: without redaction the message would hold it.
    reply = httpx.post(
        f"{chat.url}/v1/chat/completions",
        headers={"Authorization": "Bearer sk-test-secret"},
        json={"model": "scripted", "messages": MESSAGES},
    )
    assert reply.status_code == 401 and "sk-test-secret" in reply.text
    with pytest.raises(LLMAuthError) as raised:
        complete(MESSAGES, load_settings())
    message = raised.value.message
    assert message.startswith(AUTH_MESSAGE) and not raised.value.retryable
    assert "sk-test-secret" not in message
    assert "***" in message, "the key was in the reply, so the message must show it redacted"
    assert chat.stats()["requests"] == 2


def test_a_server_error_stays_retryable(chat: ChatServer) -> None:
    chat.control(fail_first=1, failure_status=503)
    with pytest.raises(LLMRetryableError, match="503|ServiceUnavailable"):
        complete(MESSAGES, load_settings())
    assert complete(MESSAGES, load_settings()).startswith("Improvement (attempt 2)")


def test_a_model_litellm_cannot_price_is_registered_as_free_and_a_known_one_keeps_its_price() -> None:
    litellm = _import_litellm()
    unknown = f"openai/phoenix-test-{uuid.uuid4().hex[:8]}"
    with pytest.raises(Exception, match="isn't mapped"):
        litellm.cost_per_token(model=unknown, prompt_tokens=1, completion_tokens=1)
    assert price_unknown_model(litellm, unknown) is True
    assert litellm.cost_per_token(model=unknown, prompt_tokens=10, completion_tokens=10) == (0, 0)
    assert price_unknown_model(litellm, unknown) is False  # once per model and process
    known = "openai/gpt-4o-mini"
    price = litellm.cost_per_token(model=known, prompt_tokens=10, completion_tokens=10)
    assert price_unknown_model(litellm, known) is False
    assert litellm.cost_per_token(model=known, prompt_tokens=10, completion_tokens=10) == price
    assert price[0] > 0
