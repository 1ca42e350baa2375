"""propose-improvements runs and their proposals, as stored and as returned to callers.

Written and read the same way in both stores: a run's head is MERGEd, its proposals replaced
(delete, then one bulk insert) in the same transaction; reads take the newest row of a key.
"""

from __future__ import annotations

import duckdb
from pydantic import BaseModel, Field, model_validator

from phoenix.store.database import StateStore


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


def save_run(store: StateStore, run: ProposeRun) -> None:
    """Store the run and every proposal in one transaction, as a bulk insert."""
    results = run.results

    def insert(connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute(
            "MERGE INTO propose_runs USING (SELECT ?::VARCHAR AS run_id, ?::VARCHAR AS seed,"
            " ?::INTEGER AS n, ?::INTEGER AS succeeded, ?::INTEGER AS failed, ?::VARCHAR AS model,"
            " ?::DOUBLE AS wall_s) AS new ON propose_runs.run_id = new.run_id"
            " WHEN MATCHED THEN UPDATE SET seed = new.seed, n = new.n, succeeded = new.succeeded,"
            " failed = new.failed, model = new.model, wall_s = new.wall_s"
            " WHEN NOT MATCHED THEN INSERT (run_id, seed, n, succeeded, failed, model, wall_s)"
            " VALUES (new.run_id, new.seed, new.n, new.succeeded, new.failed, new.model,"
            " new.wall_s)",
            [run.run_id, run.seed, run.n, run.succeeded, run.failed, run.model, run.wall_s],
        )
        connection.execute("DELETE FROM proposals WHERE run_id = ?", [run.run_id])
        if results:
            connection.execute(
                "INSERT INTO proposals (run_id, idx, angle, proposal, error, attempts, latency_s)"
                " SELECT ?, * FROM (SELECT unnest(?) AS idx, unnest(?),"
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


def load_run(store: StateStore, run_id: str) -> ProposeRun | None:
    def read(connection: duckdb.DuckDBPyConnection) -> ProposeRun | None:
        head = connection.execute(
            "SELECT run_id, seed, n, model, succeeded, failed, wall_s FROM propose_runs"
            " WHERE run_id = ? ORDER BY rowid DESC LIMIT 1",
            [run_id],
        ).fetchone()
        if head is None:
            return None
        rows = connection.execute(
            "SELECT DISTINCT ON (idx) idx, angle, proposal, error, attempts, latency_s"
            " FROM proposals WHERE run_id = ? ORDER BY idx, rowid DESC",
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


def count_runs(store: StateStore) -> int:
    row = store.read(lambda c: c.execute("SELECT count(DISTINCT run_id) FROM propose_runs").fetchone())
    return int(row[0]) if row else 0
