"""The LLM's answer to one conversation turn, given the messages that carry what it remembers."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix.llm.client import complete
from phoenix.settings import PhoenixSettings
from tasks.llm import LLM_RETRIES


@task(name="answer-turn", cache_policy=NO_CACHE, **LLM_RETRIES)
def answer_turn(messages: list[dict[str, str]], settings: PhoenixSettings) -> str:
    """The reply to the last message, with the recent exchanges and recalled memories before it."""
    return complete(messages, settings)
