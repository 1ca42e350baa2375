"""Tasks over Phoenix's memory in DuckDB: key-value memories, episodes and vector memories."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from blocks.llm import resolve_settings
from phoenix.conversation import (
    MEMORY_CANDIDATES,
    RECENT_TURNS,
    TurnContext,
    choose_context,
    turn_messages,
)
from phoenix.llm.embeddings import EmbeddingFailed
from phoenix.settings import PhoenixSettings
from phoenix.store import episodes, open_store
from phoenix.store import memory as kv
from phoenix.store import vectors as vec
from phoenix.store.episodes import DEFAULT_CONVERSATION
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
def remember_episode(
    user_input: str, reply: str, conversation: str = DEFAULT_CONVERSATION
) -> MemoryItem:
    """Keep one conversation turn as an episodic memory under a key of its own, and as a vector
    memory (metadata kind=episode) so that later turns can recall it by its meaning.

    A failing embedding model loses only the recall by meaning: the episode is kept, and the
    failure is logged.
    """
    now = datetime.now(UTC)
    settings = resolve_settings()
    store = open_store(settings)
    value = {"at": now.isoformat(), "user": user_input, "assistant": reply}
    if conversation != DEFAULT_CONVERSATION:
        value["conversation"] = conversation
    item = kv.store_value(store, kv.episode_key(now), json.dumps(value))
    metadata = {"kind": "episode", "conversation": conversation, "key": item.key}
    try:
        vec.store_text(store, settings, f"User: {user_input}\nPhoenix: {reply}", metadata)
    except EmbeddingFailed as error:
        get_run_logger().warning("The turn is kept, but not by its meaning: %s", error)
    return item


@task(name="recall-context", cache_policy=NO_CACHE)
def recall_context(
    user_input: str, conversation: str, settings: PhoenixSettings
) -> tuple[list[dict[str, str]], TurnContext]:
    """The messages of a turn — recent exchanges, relevant memories, the input — and what they
    cite, within `settings.context_tokens` (see `phoenix.conversation`)."""
    store = open_store(settings)
    recent = episodes.recent_episodes(store, conversation, RECENT_TURNS)
    recent_keys = {episode.key for episode in recent}
    try:
        found = vec.semantic_search(store, settings, user_input, k=MEMORY_CANDIDATES).items
    except EmbeddingFailed as error:
        get_run_logger().warning("No memories recalled: %s", error)
        found = []
    hits = [hit for hit in found if _recallable(hit.metadata, conversation, recent_keys)]
    turns, chosen, context = choose_context(recent, hits, settings.context_tokens, conversation)
    return turn_messages(user_input, turns, chosen), context


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


def _recallable(metadata: dict[str, Any], conversation: str, recent_keys: set[str]) -> bool:
    """A note, or an older turn of this conversation (another conversation's turns stay there)."""
    if metadata.get("kind") != "episode":
        return True
    return metadata.get("conversation") == conversation and metadata.get("key") not in recent_keys
