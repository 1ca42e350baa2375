"""Prefect tasks, grouped by the outside world they touch (llm, memory, proposals, ...)."""
