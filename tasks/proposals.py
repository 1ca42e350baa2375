"""Tasks that keep a propose-improvements run: its rows in DuckDB and its table in the Prefect UI."""

from __future__ import annotations

from uuid import UUID

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from phoenix.store import open_store
from phoenix.store.proposals import ProposeRun, save_run


@task(name="record-propose-run", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def record_propose_run(run: ProposeRun) -> None:
    save_run(open_store(), run)


@task(name="publish-proposals-table", cache_policy=NO_CACHE)
def publish_proposals_table(run: ProposeRun) -> UUID:
    """A table artifact of every ORCH's outcome, shown on the flow run's page."""
    rows = [
        {
            "orch": result.index,
            "angle": result.angle,
            "proposal": result.proposal or "",
            "error": result.error or "",
            "attempts": result.attempts,
            "latency_s": round(result.latency_s, 3),
        }
        for result in run.results
    ]
    return create_table_artifact(
        table=rows,
        key="propose-improvements",
        description=(
            f"**{run.succeeded} of {run.n}** ORCH sub-agents proposed an improvement for "
            f"*{run.seed}* ({run.failed} failed) with `{run.model}` in {run.wall_s:.2f} s."
        ),
    )
