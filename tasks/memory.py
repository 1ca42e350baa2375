"""Tasks over Phoenix's key-value memory in DuckDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix.store import memory as kv
from phoenix.store import open_store
from phoenix.store.memory import MemoryItem, MemorySearchResult


@task(name="memory-store", cache_policy=NO_CACHE)
def store_memory(key: str, value: str) -> MemoryItem:
    return kv.store_value(open_store(), key, value)


@task(name="memory-get", cache_policy=NO_CACHE)
def get_memory(key: str) -> MemoryItem:
    return kv.get_value(open_store(), key)


@task(name="memory-search", cache_policy=NO_CACHE)
def search_memory(
    query: str, limit: int | None = None, episodes: bool | None = None
) -> MemorySearchResult:
    return kv.search(open_store(), query, limit, episodes)


@task(name="memory-delete", cache_policy=NO_CACHE)
def delete_memory(key: str) -> MemoryItem:
    return kv.delete_value(open_store(), key)


@task(name="remember-episode", cache_policy=NO_CACHE)
def remember_episode(user_input: str, reply: str) -> MemoryItem:
    """Keep one conversation turn as an episodic memory under a key of its own."""
    now = datetime.now(UTC)
    value = json.dumps({"at": now.isoformat(), "user": user_input, "assistant": reply})
    return kv.store_value(open_store(), kv.episode_key(now), value)
