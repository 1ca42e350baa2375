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
