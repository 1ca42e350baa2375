"""memory: remember, recall, search and forget memories in DuckDB — key-value and vector memories.

Every reader and writer of memory — the router, the CLI, the HTTP API — goes through
this flow, so each change is a flow run that the Prefect UI shows.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from flows.run_names import memory_run_name
from phoenix.errors import UsageError
from tasks.memory import (
    all_vectors,
    delete_memory,
    get_memory,
    search_memory,
    search_vectors,
    store_memory,
    store_vector,
)

MemoryAction = Literal["store", "get", "search", "delete", "vector-store", "vector-search", "vector-all"]


@flow(name="memory", flow_run_name=memory_run_name, validate_parameters=True)
def memory(
    action: MemoryAction,
    key: str | None = None,
    value: str | None = None,
    query: str | None = None,
    limit: int | None = None,
    episodes: bool | None = None,
    metadata: dict[str, Any] | None = None,
    k: int | None = None,
    filters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One memory operation: key-value (store, get, search, delete) or vector (vector-*).

    Args:
        action: store, get, search, delete, vector-store, vector-search or vector-all.
        key: the memory's key (store, get, delete).
        value: the text to remember (store, vector-store).
        query: key prefix or text to look for (search); the meaning to look for (vector-search).
        limit: most results of a search (default 20, at most 100) or of vector-all (20, 1000).
        episodes: whether a search includes conversation episodes (default: only when the query
            starts with `episode/`).
        metadata: a flat object of strings, numbers and booleans kept with a text (vector-store).
        k: how many of the closest texts (vector-search; default 5, clamped into 1..50).
        filters: only texts whose metadata has each key with that value (vector-search).
    """
    if action == "store":
        if value is None:
            raise UsageError("memory store needs a value")
        return store_memory(key or "", value).model_dump()
    if action == "get":
        return get_memory(key or "").model_dump()
    if action == "delete":
        return delete_memory(key or "").model_dump()
    if action == "search":
        return search_memory(query or "", limit, episodes).model_dump()
    if action == "vector-store":
        return store_vector(value or "", metadata).model_dump(mode="json")
    if action == "vector-search":
        found = search_vectors(query or "", k, filters).model_dump(mode="json")
        return {"query": (query or "").strip(), **found}
    if action == "vector-all":
        return all_vectors(limit).model_dump(mode="json")
    raise UsageError(f"Unknown memory action {action!r}")
