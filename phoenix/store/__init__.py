"""Phoenix's state: one DuckDB file under PHOENIX_HOME, typed access through pydantic models."""

from phoenix.store.database import Store, StoreBusy

__all__ = ["Store", "StoreBusy", "open_store"]


def open_store() -> Store:
    """The store of the current PHOENIX_HOME."""
    from phoenix.settings import load_settings

    return Store(load_settings().database_path)
