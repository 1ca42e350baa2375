"""Phoenix's state, typed access through pydantic models, in one of two stores.

The DuckDB file under PHOENIX_HOME by default (`Store`), or a DuckLake shared by several machines
when `PHOENIX_STORE_URL` names one (`LakeStore`); `open_store()` picks it from the settings, and the
access functions (memory, proposals, repos) take either as a `StateStore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phoenix.store.database import StateStore, Store, StoreBusy

if TYPE_CHECKING:
    from phoenix.settings import PhoenixSettings

__all__ = ["StateStore", "Store", "StoreBusy", "open_store"]


def open_store(settings: PhoenixSettings | None = None) -> StateStore:
    """The store the settings (the environment's by default) configure."""
    from phoenix.settings import load_settings

    settings = settings or load_settings()
    if settings.store_url:
        from phoenix.store.lake import LakeStore

        return LakeStore(settings.store_url, settings.store_data_location)
    return Store(settings.database_path)
