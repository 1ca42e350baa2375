"""Conversation episodes: the turns `speak` keeps as key-value memories under `episode/…` keys.

Each episode's value is JSON `{"at", "user", "assistant", "conversation"}`; episodes kept before
conversations had ids (no `conversation`) belong to the default one.  Keys begin with the time, so
the newest episodes of a conversation are the greatest keys.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from phoenix.store.database import StateStore
from phoenix.store.memory import EPISODE_PREFIX

DEFAULT_CONVERSATION = "default"


class Episode(BaseModel):
    key: str
    user: str
    assistant: str
    at: str | None = None
    conversation: str = DEFAULT_CONVERSATION


def recent_episodes(store: StateStore, conversation: str, limit: int) -> list[Episode]:
    """The conversation's last `limit` turns, newest first (values that are not JSON skipped)."""
    table = store.current("kv_memory")
    rows = store.read(
        lambda c: c.execute(
            f"SELECT key, value FROM {table} "  # noqa: S608 - fixed SQL
            "WHERE starts_with(key, $prefix) AND json_valid(value) "
            "AND coalesce(json_extract_string(value, '$.conversation'), $default) = $conversation "
            "ORDER BY key DESC LIMIT $limit",
            {
                "prefix": EPISODE_PREFIX,
                "default": DEFAULT_CONVERSATION,
                "conversation": conversation,
                "limit": limit,
            },
        ).fetchall()
    )
    episodes = []
    for key, value in rows:
        data = json.loads(value)
        if isinstance(data, dict) and isinstance(data.get("user"), str):
            episodes.append(
                Episode(
                    key=key,
                    user=data["user"],
                    assistant=str(data.get("assistant") or ""),
                    at=data.get("at"),
                    conversation=str(data.get("conversation") or DEFAULT_CONVERSATION),
                )
            )
    return episodes
