"""TEST_REPORT.md: what Phoenix's own `cargo test` of an agent said, kept in the agent's repository
and in the pull request's body.

The output comes from generated code, so it may hold anything, backticks included: the fence around
it is always longer than any run of backticks inside, so nothing in the output can close it.
"""

from __future__ import annotations

import re
from pathlib import Path

from phoenix.agents.cargo import TestOutcome

REPORT_NAME = "TEST_REPORT.md"


def fence_for(text: str) -> str:
    """A backtick fence longer than every run of backticks in `text` (three at least)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render_test_report(outcome: TestOutcome, model: str, attempt: int, cargo_version: str) -> str:
    """The report's Markdown."""
    if outcome.timed_out:
        verdict = f"FAILED: timed out after {outcome.duration_s:.1f} s"
    else:
        verdict = "PASSED" if outcome.passed else "FAILED"
    fence = fence_for(outcome.output_tail)
    lines = [
        "# Test report",
        "",
        f"**{verdict}**",
        "",
        "| | |",
        "|---|---|",
        f"| result | {'passed' if outcome.passed else 'failed'} |",
        f"| duration | {outcome.duration_s:.1f} s |",
        f"| exit status | {outcome.exit_code} |",
        f"| timed out | {'yes' if outcome.timed_out else 'no'} |",
        f"| cargo | {cargo_version.replace('|', '/')} |",
        f"| builds from | {'Debian crate sources, offline' if outcome.offline else 'crates.io'} |",
        f"| code written by | {model.replace('|', '/')} |",
        f"| attempt | {attempt} |",
        "",
        "## Output (tail)",
        "",
        f"{fence}text",
        outcome.output_tail,
        fence,
        "",
    ]
    return "\n".join(lines)


def write_test_report(
    folder: Path, outcome: TestOutcome, model: str, attempt: int, cargo_version: str
) -> Path:
    """Write TEST_REPORT.md into the agent's folder; its path."""
    path = folder / REPORT_NAME
    path.write_text(render_test_report(outcome, model, attempt, cargo_version))
    return path
