"""propose-improvements runs and their proposals, as stored and as returned to callers."""

from __future__ import annotations

import duckdb
from pydantic import BaseModel, Field, model_validator

from phoenix.store.database import Store


class ProposalResult(BaseModel):
    """What one ORCH sub-agent produced: a proposal, or the error it ended with."""

    index: int
    angle: str
    proposal: str | None = None
    error: str | None = None
    attempts: int = Field(ge=1)
    latency_s: float = Field(ge=0)

    @model_validator(mode="after")
    def _exactly_one_outcome(self) -> ProposalResult:
        if (self.proposal is None) == (self.error is None):
            raise ValueError("exactly one of proposal and error is set")
        return self


class ProposeRun(BaseModel):
    """The aggregate of one propose-improvements run (the JSON of `phoenix propose`)."""

    run_id: str
    seed: str
    n: int
    model: str
    succeeded: int
    failed: int
    wall_s: float
    results: list[ProposalResult]


def save_run(store: Store, run: ProposeRun) -> None:
    """Store the run and every proposal in one transaction, as a bulk insert."""
    results = run.results

    def insert(connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute(
            "INSERT OR REPLACE INTO propose_runs (run_id, seed, n, succeeded, failed, model, wall_s)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run.run_id, run.seed, run.n, run.succeeded, run.failed, run.model, run.wall_s],
        )
        connection.execute("DELETE FROM proposals WHERE run_id = ?", [run.run_id])
        if results:
            connection.execute(
                "INSERT INTO proposals SELECT ?, * FROM (SELECT unnest(?) AS idx, unnest(?),"
                " unnest(?), unnest(?), unnest(?), unnest(?))",
                [
                    run.run_id,
                    [r.index for r in results],
                    [r.angle for r in results],
                    [r.proposal for r in results],
                    [r.error for r in results],
                    [r.attempts for r in results],
                    [r.latency_s for r in results],
                ],
            )

    store.transaction(insert)


def load_run(store: Store, run_id: str) -> ProposeRun | None:
    def read(connection: duckdb.DuckDBPyConnection) -> ProposeRun | None:
        head = connection.execute(
            "SELECT run_id, seed, n, model, succeeded, failed, wall_s FROM propose_runs"
            " WHERE run_id = ?",
            [run_id],
        ).fetchone()
        if head is None:
            return None
        rows = connection.execute(
            "SELECT idx, angle, proposal, error, attempts, latency_s FROM proposals"
            " WHERE run_id = ? ORDER BY idx",
            [run_id],
        ).fetchall()
        fields = ("run_id", "seed", "n", "model", "succeeded", "failed", "wall_s")
        results = [
            ProposalResult(
                index=r[0], angle=r[1], proposal=r[2], error=r[3], attempts=r[4], latency_s=r[5]
            )
            for r in rows
        ]
        return ProposeRun(**dict(zip(fields, head, strict=True)), results=results)

    return store.read(read)


def count_runs(store: Store) -> int:
    row = store.read(lambda c: c.execute("SELECT count(*) FROM propose_runs").fetchone())
    return int(row[0]) if row else 0
