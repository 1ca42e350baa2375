"""The agents table, on both stores: records saved, updated in place, found, listed, shown."""

from __future__ import annotations

import pytest

from phoenix.errors import NotFound
from phoenix.store import agents
from phoenix.store.agents import AgentRecord
from phoenix.store.database import StateStore
from tests.test_shared_store import postgres_server, store  # noqa: F401 - fixtures


def test_an_agent_is_saved_updated_and_shown(store: StateStore) -> None:  # noqa: F811
    first = agents.save_agent(
        store,
        AgentRecord(
            id="a1", name="weather-bot", description="says the weather", status="generating"
        ),  # fmt: skip
    )
    assert first.created_at is not None and first.tier == "free"
    assert first.shown()["test_report"] is None

    updated = agents.save_agent(
        store,
        first.model_copy(
            update={
                "status": "awaiting_approval",
                "repo_url": "http://forge/x/y",
                "pr_number": 3,
                "test_passed": True,
                "test_exit_code": 0,
                "test_duration_s": 12.5,
                "model": "openai/scripted",
            }
        ),  # fmt: skip
    )
    assert updated.created_at == first.created_at
    shown = agents.get_agent(store, "a1").shown()
    assert shown["status"] == "awaiting_approval" and shown["pr_number"] == 3
    assert shown["test_report"] == {"passed": True, "exit_code": 0, "duration_s": 12.5}
    assert "test_passed" not in shown
    assert agents.find_agent_named(store, "weather-bot").id == "a1"
    assert agents.find_agent_named(store, "nobody") is None

    agents.save_agent(store, AgentRecord(id="a2", name="scribe", status="aborted", tier="paid"))
    assert [a.id for a in agents.list_agents(store)] == ["a1", "a2"]
    with pytest.raises(NotFound, match="No agent with id 'zz'"):
        agents.get_agent(store, "zz")
