"""Tasks that keep a propose-improvements run: its rows in DuckDB, its progress, its table and its
synthesis in the Prefect UI, and the grouping of its proposals into ideas."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from uuid import UUID

import httpx
from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from phoenix.llm.client import TokenUsage
from phoenix.llm.embeddings import EmbeddingFailed, embed_texts
from phoenix.llm.synthesis import IdeaGroup, make_groups
from phoenix.settings import PhoenixSettings
from phoenix.store import open_store
from phoenix.store.proposals import ProposalResult, ProposeRun, save_run

SYNTHESIS_KEY = "propose-improvements-synthesis"
"""The synthesis artifact's key: the ranked ideas of the latest propose run."""

PROGRESS_KEY = "propose-improvements-progress"
"""The progress artifact's key: its page on the Artifacts page follows the latest propose run."""

PROGRESS_STEPS = 20
"""At most this many progress updates per run, however large N is: each is an HTTP call (~12 ms)."""

PROGRESS_INTERVAL_S = 0.25
"""Least time between two updates before the last: ORCHs that finish together cost one call."""

logger = logging.getLogger(__name__)


@task(name="record-propose-run", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def record_propose_run(run: ProposeRun) -> None:
    save_run(open_store(), run)


def progress_due(done: int, n: int, steps: int = PROGRESS_STEPS) -> bool:
    """Whether finishing the `done`-th of `n` ORCHs crosses into a new 1/`steps` of the run.

    True for every ORCH when `n <= steps`, for at most `steps` of them otherwise, and always for the
    last one, so the bar ends at 100 %.
    """
    return done * steps // n > (done - 1) * steps // n


def _progress_text(done: int, n: int) -> str:
    return f"{done} of {n} ORCH sub-agents finished"


@dataclass
class ProgressBar:
    """A run's progress artifact, moved as its ORCHs finish (see `start_progress`)."""

    n: int
    artifact_id: UUID | None
    _last_update: float = field(default_factory=time.monotonic)

    def advance(self, done: int) -> None:
        """`done` of `n` ORCHs have finished: update the artifact if a step is due and the last
        update is old enough (the final 100 % always goes out)."""
        if not progress_due(done, self.n):
            return
        now = time.monotonic()
        if done < self.n and now - self._last_update < PROGRESS_INTERVAL_S:
            return
        report_progress(self.artifact_id, done, self.n)
        self._last_update = now


def start_progress(n: int) -> ProgressBar:
    """A progress artifact at 0 % on the current flow run (none if the Prefect API refused it).

    Plain functions, not tasks: the flow creates the bar and advances it from its own thread as the
    ORCH futures complete, so one writer moves it in order, and its updates do not each cost a task
    run in the UI.  Progress is a view of the run, never a reason for it to fail.
    """
    try:
        artifact_id = create_progress_artifact(
            progress=0.0, key=PROGRESS_KEY, description=_progress_text(0, n)
        )
    except httpx.HTTPError as error:
        logger.warning("The propose run's progress artifact was not created: %s", error)
        artifact_id = None
    return ProgressBar(n=n, artifact_id=artifact_id)


def report_progress(artifact_id: UUID | None, done: int, n: int) -> None:
    """Set the artifact to `done` of `n` ORCHs; a refused update is only logged."""
    if artifact_id is None:
        return
    try:
        update_progress_artifact(
            artifact_id=artifact_id,
            progress=round(100.0 * done / n, 1),
            description=_progress_text(done, n),
        )
    except httpx.HTTPError as error:
        logger.warning("The propose run's progress was not updated: %s", error)


@task(name="group-proposals", cache_policy=NO_CACHE)
def group_proposals(
    results: list[ProposalResult], settings: PhoenixSettings
) -> tuple[list[IdeaGroup], str | None]:
    """The run's proposals grouped into ideas by embedding similarity (`phoenix.llm.synthesis`),
    in the default order, and why they could not be embedded if they could not.

    An embedding failure does not fail the run: each proposal is then an idea of its own.
    """
    proposals = [(r.index, r.proposal) for r in results if r.proposal is not None]
    if not proposals:
        return [], None
    try:
        vectors = embed_texts([text for _, text in proposals], settings)
    except EmbeddingFailed as error:
        logger.warning("The proposals were not grouped: %s", error.message)
        return make_groups(proposals, None), error.message
    return make_groups(proposals, vectors), None


def usage_text(usage: TokenUsage) -> str:
    """Tokens and cost in a few words: `1,234 in, 56 out, $0.000321` or `..., cost unknown`."""
    cost = "cost unknown" if usage.cost_usd is None else f"${usage.cost_usd:.6f}"
    return f"{usage.prompt_tokens:,} tokens in, {usage.completion_tokens:,} out, {cost}"


@task(name="publish-proposals-table", cache_policy=NO_CACHE)
def publish_proposals_table(run: ProposeRun) -> UUID:
    """A table artifact of every ORCH's outcome and what it used, shown on the flow run's page;
    its description ends with the run's totals (the judge's share named)."""
    rows = [
        {
            "orch": result.index,
            "angle": result.angle,
            "proposal": result.proposal or "",
            "error": result.error or "",
            "attempts": result.attempts,
            "latency_s": round(result.latency_s, 3),
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "cost_usd": "" if result.usage.cost_usd is None else result.usage.cost_usd,
        }
        for result in run.results
    ]
    return create_table_artifact(
        table=rows,
        key="propose-improvements",
        description=(
            f"**{run.succeeded} of {run.n}** ORCH sub-agents proposed an improvement for "
            f"*{run.seed}* ({run.failed} failed) with `{run.model}` in {run.wall_s:.2f} s.\n\n"
            f"**Total:** {usage_text(run.usage)} (ORCHs: {usage_text(run.usage.orchs)};"
            f" judge: {usage_text(run.usage.judge)})."
        ),
    )


def _cell(text: str) -> str:
    """`text` as one markdown table cell: one line, no `|` that splits it, no raw HTML."""
    flat = " ".join(text.split())
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def synthesis_markdown(run: ProposeRun) -> str:
    """The ranked ideas of `run` as markdown: how they were ranked, then one row per idea."""
    synthesis = run.synthesis
    assert synthesis is not None
    if synthesis.ranked_by == "judge":
        how = "ranked by the LLM judge"
    elif synthesis.judge_error:
        how = f"in default order, by size: the judge failed ({_cell(synthesis.judge_error)})"
    else:
        how = "in default order, by size"
    lines = [
        f"# Ideas for {_cell(run.seed)}",
        "",
        f"{len(synthesis.groups)} ideas from {run.succeeded} proposals, {how}.",
    ]
    if synthesis.grouping_error:
        lines.append(f"Not grouped (each proposal is its own idea): {_cell(synthesis.grouping_error)}")
    lines += ["", "| rank | idea | ORCHs |", "|---|---|---|"]
    for group in synthesis.groups:
        orchs = ", ".join(str(index) for index in group.orchs)
        lines.append(f"| {group.rank} | {_cell(group.representative)} | {orchs} |")
    lines += ["", f"Judge: {usage_text(synthesis.usage)}; run total: {usage_text(run.usage)}."]
    return "\n".join(lines)


@task(name="publish-synthesis", cache_policy=NO_CACHE)
def publish_synthesis(run: ProposeRun) -> UUID | None:
    """A markdown artifact of the run's ranked ideas (none when the run has no synthesis)."""
    if run.synthesis is None:
        return None
    return create_markdown_artifact(
        markdown=synthesis_markdown(run),
        key=SYNTHESIS_KEY,
        description=f"The ranked ideas of the propose run for {run.seed!r}",
    )
