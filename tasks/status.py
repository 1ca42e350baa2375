"""The status task: what Phoenix holds and how it is configured.

Settings are read the way the flows read them (`blocks.llm.resolve_settings`: the environment, then
the saved `phoenix-llm` block), so `status` shows the model the next propose will use.  The list of
capabilities is the router's (`phoenix.commands.CAPABILITIES`); the router adds it.
"""

from __future__ import annotations

import os
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.llm import resolve_settings
from phoenix import __version__
from phoenix.store import open_store
from phoenix.store.memory import count_items
from phoenix.store.proposals import count_runs


@task(name="read-status", cache_policy=NO_CACHE)
def read_status() -> dict[str, Any]:
    """What Phoenix holds and how it is configured (never a secret).

    `pid` is the process that ran the flow: the local Phoenix service's for a command it served,
    the command's own when it ran in-process.
    """
    settings = resolve_settings()
    store = open_store()
    return {
        "version": __version__,
        "model": settings.llm_model,
        "llm_api_base": settings.llm_api_base,
        "llm_concurrency": settings.llm_concurrency,
        "database": store.describe(),
        "memory_items": count_items(store),
        "episodes": count_items(store, episodes=True),
        "propose_runs": count_runs(store),
        "prefect_api_url": os.environ.get("PREFECT_API_URL"),
        "pid": os.getpid(),
    }
