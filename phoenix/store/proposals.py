"""propose-improvements runs and their proposals, as stored and as returned to callers.

Written and read the same way in both stores: a run's head is MERGEd, its proposals replaced
(delete, then one bulk insert) in the same transaction; reads take the newest row of a key.

What a run cost is kept with it (migration 8): each proposal's tokens and price, the run's totals
(the ORCHs' and the judge's), and the queen's synthesis as JSON.  A run stored before migration 8
reads back with zero tokens and an unknown cost.
"""

from __future__ import annotations

import json
from functools import reduce

import duckdb
from pydantic import BaseModel, Field, model_validator

from phoenix.llm.client import TokenUsage
from phoenix.llm.synthesis import Synthesis
from phoenix.store.database import StateStore


class ProposalResult(BaseModel):
    """What one ORCH sub-agent produced: a proposal, or the error it ended with."""

    index: int
    angle: str
    proposal: str | None = None
    error: str | None = None
    attempts: int = Field(ge=1)
    latency_s: float = Field(ge=0)
    usage: TokenUsage = Field(
        default_factory=TokenUsage,
        description="What the ORCH's successful call used; a failed ORCH reports none (see "
        "tasks.llm.propose_one).",
    )

    @model_validator(mode="after")
    def _exactly_one_outcome(self) -> ProposalResult:
        if (self.proposal is None) == (self.error is None):
            raise ValueError("exactly one of proposal and error is set")
        return self


class RunUsage(TokenUsage):
    """A run's tokens and cost: the totals, and the ORCHs' and the judge's shares of them."""

    orchs: TokenUsage = Field(default_factory=TokenUsage)
    judge: TokenUsage = Field(default_factory=TokenUsage)


def total_usage(parts: list[TokenUsage]) -> TokenUsage:
    """The sum of `parts` in their order (cost None only when no part has a price)."""
    return reduce(lambda total, part: total + part, parts, TokenUsage())


def run_usage(results: list[ProposalResult], synthesis: Synthesis | None) -> RunUsage:
    """The run's usage: every ORCH's, in index order, plus the judge's."""
    orchs = total_usage([result.usage for result in results])
    judge = synthesis.usage if synthesis is not None else TokenUsage()
    total = orchs + judge
    return RunUsage(**total.model_dump(), orchs=orchs, judge=judge)


class ProposeRun(BaseModel):
    """The aggregate of one propose-improvements run (the JSON of `phoenix propose`).

    `results` holds every ORCH's raw outcome, in index order; `synthesis` the ideas grouped and
    ranked (None when the run was asked not to synthesise, or no ORCH proposed anything).
    """

    run_id: str
    seed: str
    n: int
    model: str
    succeeded: int
    failed: int
    wall_s: float = Field(description="The ORCHs' fan-out, without the synthesis (its own wall_s).")
    results: list[ProposalResult]
    usage: RunUsage = Field(default_factory=RunUsage)
    synthesis: Synthesis | None = None


def save_run(store: StateStore, run: ProposeRun) -> None:
    """Store the run and every proposal in one transaction, as a bulk insert."""
    results = run.results

    def insert(connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute(
            "MERGE INTO propose_runs USING (SELECT ?::VARCHAR AS run_id, ?::VARCHAR AS seed,"
            " ?::INTEGER AS n, ?::INTEGER AS succeeded, ?::INTEGER AS failed, ?::VARCHAR AS model,"
            " ?::DOUBLE AS wall_s, ?::INTEGER AS prompt_tokens, ?::INTEGER AS completion_tokens,"
            " ?::DOUBLE AS cost_usd, ?::JSON AS synthesis) AS new"
            " ON propose_runs.run_id = new.run_id"
            " WHEN MATCHED THEN UPDATE SET seed = new.seed, n = new.n, succeeded = new.succeeded,"
            " failed = new.failed, model = new.model, wall_s = new.wall_s,"
            " prompt_tokens = new.prompt_tokens, completion_tokens = new.completion_tokens,"
            " cost_usd = new.cost_usd, synthesis = new.synthesis"
            " WHEN NOT MATCHED THEN INSERT (run_id, seed, n, succeeded, failed, model, wall_s,"
            " prompt_tokens, completion_tokens, cost_usd, synthesis)"
            " VALUES (new.run_id, new.seed, new.n, new.succeeded, new.failed, new.model,"
            " new.wall_s, new.prompt_tokens, new.completion_tokens, new.cost_usd, new.synthesis)",
            [
                run.run_id,
                run.seed,
                run.n,
                run.succeeded,
                run.failed,
                run.model,
                run.wall_s,
                run.usage.prompt_tokens,
                run.usage.completion_tokens,
                run.usage.cost_usd,
                run.synthesis.model_dump_json() if run.synthesis is not None else None,
            ],
        )
        connection.execute("DELETE FROM proposals WHERE run_id = ?", [run.run_id])
        if results:
            connection.execute(
                "INSERT INTO proposals (run_id, idx, angle, proposal, error, attempts, latency_s,"
                " prompt_tokens, completion_tokens, cost_usd)"
                " SELECT ?, * FROM (SELECT unnest(?) AS idx, unnest(?), unnest(?), unnest(?),"
                " unnest(?), unnest(?), unnest(?::INTEGER[]), unnest(?::INTEGER[]),"
                " unnest(?::DOUBLE[]))",
                [
                    run.run_id,
                    [r.index for r in results],
                    [r.angle for r in results],
                    [r.proposal for r in results],
                    [r.error for r in results],
                    [r.attempts for r in results],
                    [r.latency_s for r in results],
                    [r.usage.prompt_tokens for r in results],
                    [r.usage.completion_tokens for r in results],
                    [r.usage.cost_usd for r in results],
                ],
            )

    store.transaction(insert)


def load_run(store: StateStore, run_id: str) -> ProposeRun | None:
    def read(connection: duckdb.DuckDBPyConnection) -> ProposeRun | None:
        head = connection.execute(
            "SELECT run_id, seed, n, model, succeeded, failed, wall_s, prompt_tokens,"
            " completion_tokens, cost_usd, synthesis FROM propose_runs"
            " WHERE run_id = ? ORDER BY rowid DESC LIMIT 1",
            [run_id],
        ).fetchone()
        if head is None:
            return None
        rows = connection.execute(
            "SELECT DISTINCT ON (idx) idx, angle, proposal, error, attempts, latency_s,"
            " prompt_tokens, completion_tokens, cost_usd"
            " FROM proposals WHERE run_id = ? ORDER BY idx, rowid DESC",
            [run_id],
        ).fetchall()
        fields = ("run_id", "seed", "n", "model", "succeeded", "failed", "wall_s")
        results = [
            ProposalResult(
                index=r[0],
                angle=r[1],
                proposal=r[2],
                error=r[3],
                attempts=r[4],
                latency_s=r[5],
                usage=_usage(r[6], r[7], r[8]),
            )
            for r in rows
        ]
        synthesis = Synthesis.model_validate(json.loads(head[10])) if head[10] else None
        computed = run_usage(results, synthesis)
        usage = RunUsage(
            **_usage(head[7], head[8], head[9]).model_dump(),
            orchs=computed.orchs,
            judge=computed.judge,
        )
        return ProposeRun(
            **dict(zip(fields, head[:7], strict=True)),
            results=results,
            usage=usage,
            synthesis=synthesis,
        )

    return store.read(read)


def _usage(prompt: int | None, completion: int | None, cost: float | None) -> TokenUsage:
    """Stored token columns as usage (NULL, in a run from before migration 8: none, cost unknown)."""
    return TokenUsage(prompt_tokens=prompt or 0, completion_tokens=completion or 0, cost_usd=cost)


def count_runs(store: StateStore) -> int:
    row = store.read(lambda c: c.execute("SELECT count(DISTINCT run_id) FROM propose_runs").fetchone())
    return int(row[0]) if row else 0
