"""One smoke test of the real embedded model: no configuration, no network, two short proposals."""

from __future__ import annotations

import pytest

from flows.propose import propose_improvements


@pytest.mark.slow
def test_the_embedded_model_proposes_offline(phoenix_home, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PHOENIX_LLM_MODEL", "PHOENIX_LLM_API_BASE", "PHOENIX_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PHOENIX_LLM_MAX_TOKENS", "48")
    result = propose_improvements(seed="a command-line todo app", n=2)
    assert result["model"] == "local/smollm2"
    assert result["succeeded"] == 2, result
    proposals = [item["proposal"] for item in result["results"]]
    assert all(len(text.split()) >= 3 for text in proposals)
    # The embedded model counts its own tokens (streaming reports none): every ORCH used some,
    # no more than it was allowed to write, and nothing has a price.
    for item in result["results"]:
        usage = item["usage"]
        assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 48, usage
        assert usage["cost_usd"] is None
    assert result["usage"]["completion_tokens"] >= sum(
        item["usage"]["completion_tokens"] for item in result["results"]
    )
