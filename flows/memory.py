"""memory: remember, recall, search and forget key-value memories in DuckDB.

Every reader and writer of the key-value memory — the router, the CLI, the HTTP API — goes through
this flow, so each change is a flow run that the Prefect UI shows.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from flows.run_names import memory_run_name
from phoenix.errors import UsageError
from tasks.memory import delete_memory, get_memory, search_memory, store_memory

MemoryAction = Literal["store", "get", "search", "delete"]


@flow(name="memory", flow_run_name=memory_run_name, validate_parameters=True)
def memory(
    action: MemoryAction,
    key: str | None = None,
    value: str | None = None,
    query: str | None = None,
    limit: int | None = None,
    episodes: bool | None = None,
) -> dict[str, Any]:
    """One key-value memory operation.

    Args:
        action: store, get, search or delete.
        key: the memory's key (store, get, delete).
        value: the text to remember (store).
        query: key prefix or text to look for (search).
        limit: most results of a search (default 20, at most 100).
        episodes: whether a search includes conversation episodes (default: only when the query
            starts with `episode/`).
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
    raise UsageError(f"Unknown memory action {action!r}")
