"""Tasks over Phoenix's memory in DuckDB: key-value memories, episodes and vector memories."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.llm import resolve_settings
from phoenix.store import memory as kv
from phoenix.store import open_store
from phoenix.store import vectors as vec
from phoenix.store.memory import MemoryItem, MemorySearchResult
from phoenix.store.vectors import VectorItem, VectorList, VectorSearchResult


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


@task(name="vector-store", cache_policy=NO_CACHE)
def store_vector(text: str, metadata: dict[str, Any] | None = None) -> VectorItem:
    """Embed `text` and keep it (or find it already kept: identical texts are stored once)."""
    settings = resolve_settings()
    return vec.store_text(open_store(settings), settings, text, metadata)


@task(name="vector-search", cache_policy=NO_CACHE)
def search_vectors(
    query: str, k: int | None = None, filters: dict[str, str] | None = None
) -> VectorSearchResult:
    settings = resolve_settings()
    return vec.semantic_search(open_store(settings), settings, query, k, filters)


@task(name="vector-all", cache_policy=NO_CACHE)
def all_vectors(limit: int | None = None) -> VectorList:
    settings = resolve_settings()
    return vec.all_vectors(open_store(settings), settings, limit)
