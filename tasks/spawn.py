"""Tasks of the spawn-agent flow that make the agent: its code from the LLM, its repository from the
template, and its tests.

`write-agent-code` is retried like `ask-llm` (retryable LLM errors only).  The code's fences are
not stripped here: the template that assembles the repository does that (`phoenix.agents`), so what
the model said is what the flow's logs and the TEST_REPORT.md record.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix.agents.cargo import DEFAULT_TIMEOUT_S, TestOutcome, cargo_test, cargo_version
from phoenix.agents.report import write_test_report
from phoenix.agents.template import AgentSpec, assemble
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


@task(name="assemble-agent", cache_policy=NO_CACHE)
def assemble_agent(folder: Path, agent: AgentSpec, answer: str) -> list[str]:
    """The agent's repository written into `folder` from the template; the files, relative."""
    return [path.relative_to(folder).as_posix() for path in assemble(folder, agent, answer)]


@task(name="cargo-test", cache_policy=NO_CACHE, task_run_name="cargo-test-{attempt}")
def test_agent(folder: Path, attempt: int, target_dir: Path) -> TestOutcome:
    """`cargo test` of the agent (offline through the Debian crate sources when there)."""
    del attempt  # names the task run: which attempt this was
    return cargo_test(folder, timeout_s=DEFAULT_TIMEOUT_S, target_dir=target_dir)


@task(name="write-test-report", cache_policy=NO_CACHE)
def record_test_report(folder: Path, outcome: TestOutcome, model: str, attempt: int) -> str:
    """TEST_REPORT.md in the agent's folder; its Markdown."""
    return write_test_report(folder, outcome, model, attempt, cargo_version()).read_text()
