"""The status task: what Phoenix holds and how it is configured."""

from __future__ import annotations

import os
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix import __version__
from phoenix.settings import load_settings
from phoenix.store import open_store
from phoenix.store.memory import count_items
from phoenix.store.proposals import count_runs


@task(name="read-status", cache_policy=NO_CACHE)
def read_status() -> dict[str, Any]:
    """What Phoenix holds and how it is configured (never a secret)."""
    settings = load_settings()
    store = open_store()
    return {
        "version": __version__,
        "model": settings.llm_model,
        "llm_api_base": settings.llm_api_base,
        "llm_concurrency": settings.llm_concurrency,
        "database": str(settings.database_path),
        "memory_items": count_items(store),
        "propose_runs": count_runs(store),
        "prefect_api_url": os.environ.get("PREFECT_API_URL"),
        "capabilities": {
            "propose": True,
            "memory": True,
            "speak": True,
            "ecosystem": True,
            "spawn": False,
            "system": False,
        },
    }
