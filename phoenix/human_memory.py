"""How vector memory reads for people (`phoenix memory vector-*`, `memory vector-…` routed).

A search is a table with each text's score (cosine similarity: 1 is the same meaning, around 0 is
unrelated), so a person sees how close the closest texts are, not only their order.
"""

from __future__ import annotations

import json
from typing import Any

Result = dict[str, Any]
STORE_HINT = "Store one with `phoenix memory vector-store TEXT`."


def _short(text: Any, limit: int = 100) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _metadata(item: Result) -> str:
    meta = item.get("metadata") or {}
    return ", ".join(f"{key}={json.dumps(value) if not isinstance(value, str) else value}"
                     for key, value in meta.items())  # fmt: skip


def vector_store(result: Result, screen: Any) -> None:
    verb = "Remembered" if result.get("created") else "Already remembered"
    screen.line(f"{verb} {_short(result.get('text'), 80)!r} (id {result.get('id')}).")


def vector_search(result: Result, screen: Any) -> None:
    items = result.get("items") or []
    query = result.get("query")
    about = f" close to {query!r}" if query else ""
    if not items:
        screen.line(f"No memories{about}. {STORE_HINT}")
        return
    noun = "memory" if len(items) == 1 else "memories"
    screen.table(
        f"Showing the {len(items)} {noun}{about}, closest first",
        ["score", "text", "metadata", "id"],
        [
            (f"{float(item['score']):.3f}", _short(item.get("text")), _metadata(item),
             str(item.get("id"))[:12])
            for item in items
        ],
    )  # fmt: skip


def vector_all(result: Result, screen: Any) -> None:
    items = result.get("items") or []
    if not items:
        screen.line(f"No vector memories yet. {STORE_HINT}")
        return
    screen.table(
        f"Showing {len(items)} of {result.get('total', len(items))} vector memories, newest first",
        ["created", "text", "metadata", "id"],
        [
            (str(item.get("created_at", ""))[:19].replace("T", " "), _short(item.get("text")),
             _metadata(item), str(item.get("id"))[:12])
            for item in items
        ],
    )  # fmt: skip


RENDERERS = {
    "memory.vector-store": vector_store,
    "memory.vector-search": vector_search,
    "memory.vector-all": vector_all,
}
