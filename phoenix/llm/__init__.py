"""The LLM layer: litellm calls with timeouts, a concurrency cap and sorted errors."""
