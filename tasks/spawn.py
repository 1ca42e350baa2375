"""Tasks of the spawn-agent flow that talk to the LLM: writing an agent's code, and repairing it.

Retried like `ask-llm` (retryable LLM errors only).  The code's fences are not stripped here: the
template that assembles the repository does that (`phoenix.agents`), so what the model said is
what the flow's logs and the TEST_REPORT.md record.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix.llm.agent_code import CODE_MAX_TOKENS, code_messages, repair_messages
from phoenix.llm.client import complete
from phoenix.settings import PhoenixSettings
from tasks.llm import LLM_RETRIES


@task(name="write-agent-code", cache_policy=NO_CACHE, **LLM_RETRIES)
def write_agent_code(
    name: str,
    description: str,
    settings: PhoenixSettings,
    failed_code: str | None = None,
    errors: str | None = None,
) -> str:
    """The agent's module from the LLM; with `failed_code` and `errors`, a repair of it."""
    if failed_code is not None and errors:
        messages = repair_messages(name, description, failed_code, errors)
    else:
        messages = code_messages(name, description)
    return complete(messages, settings, max_tokens=CODE_MAX_TOKENS, temperature=0.2)
