"""Phoenix: a Prefect 3 orchestrator for LLM agents, with state in DuckDB."""

__version__ = "0.1.0"
