"""Agents as stored and as returned to callers: one `agents` table for every kind of agent.

A spawned agent has code in a repository (its URL, its pull request, its test report); the tools
issue adds agents with a mission and assigned tools to the same table, so an agent may have code,
tools or both.  The JSON of `phoenix spawn` and `phoenix agents show` is `AgentRecord.shown()`
(docs/design.md, "JSON shapes").

Written the same way in both stores: a record is MERGEd on its id; reads take the newest row of an
id (the shared store has no unique keys).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from phoenix.errors import NotFound
from phoenix.store.database import StateStore

COLUMNS = (
    "id", "name", "description", "tier", "status", "repo_url", "pr_number", "pr_url",
    "test_passed", "test_exit_code", "test_duration_s", "model", "attempts", "error",
    "created_at", "updated_at",
)  # fmt: skip
_WRITTEN = COLUMNS[:-2]  # the timestamps are the database's


class AgentRecord(BaseModel):
    id: str
    name: str
    description: str = ""
    tier: str = "free"
    status: str
    repo_url: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    test_passed: bool | None = None
    test_exit_code: int | None = None
    test_duration_s: float | None = None
    model: str | None = None
    attempts: int | None = None
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def shown(self) -> dict[str, Any]:
        """The public JSON shape: the record, its test report as one object."""
        record = self.model_dump(mode="json", exclude={"test_passed", "test_exit_code",
                                                       "test_duration_s"})  # fmt: skip
        record["test_report"] = (
            None
            if self.test_passed is None
            else {
                "passed": self.test_passed,
                "exit_code": self.test_exit_code,
                "duration_s": self.test_duration_s,
            }  # fmt: skip
        )
        return record


def _read(connection: duckdb.DuckDBPyConnection, where: str, value: str) -> AgentRecord | None:
    row = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM agents WHERE {where} = ?"  # noqa: S608 - fixed names
        " ORDER BY rowid DESC LIMIT 1",  # the newest row, should the shared store hold two
        [value],
    ).fetchone()
    return AgentRecord.model_validate(dict(zip(COLUMNS, row, strict=True))) if row else None


def save_agent(store: StateStore, record: AgentRecord) -> AgentRecord:
    """Insert or update the agent `record.id`; returns it as stored (with its timestamps)."""
    values = [getattr(record, column) for column in _WRITTEN]
    source = ", ".join(f"?{_cast(column)} AS {column}" for column in _WRITTEN)
    updates = ", ".join(f"{column} = new.{column}" for column in _WRITTEN[1:])
    names = ", ".join(_WRITTEN)

    def upsert(connection: duckdb.DuckDBPyConnection) -> AgentRecord:
        connection.execute(
            f"MERGE INTO agents USING (SELECT {source}) AS new ON agents.id = new.id"  # noqa: S608
            f" WHEN MATCHED THEN UPDATE SET {updates}, updated_at = now()"
            f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES"
            f" ({', '.join(f'new.{column}' for column in _WRITTEN)})",
            values,
        )
        stored = _read(connection, "id", record.id)
        assert stored is not None  # just written, in this transaction
        return stored

    return store.transaction(upsert)


_TYPES = {
    "pr_number": "INTEGER", "test_passed": "BOOLEAN", "test_exit_code": "INTEGER",
    "test_duration_s": "DOUBLE", "attempts": "INTEGER",
}  # fmt: skip


def _cast(column: str) -> str:
    """A parameter's SQL type: a NULL parameter has none of its own in a MERGE's source."""
    return f"::{_TYPES.get(column, 'VARCHAR')}"


def get_agent(store: StateStore, agent_id: str) -> AgentRecord:
    found = store.read(lambda connection: _read(connection, "id", agent_id))
    if found is None:
        raise NotFound(f"No agent with id {agent_id!r} (see: phoenix agents list)")
    return found


def find_agent_named(store: StateStore, name: str) -> AgentRecord | None:
    """The agent called `name` (names are unique among agents: a re-spawn updates it)."""
    return store.read(lambda connection: _read(connection, "name", name))


def list_agents(store: StateStore) -> list[AgentRecord]:
    def read(connection: duckdb.DuckDBPyConnection) -> list[AgentRecord]:
        rows = connection.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {store.current('agents')}"  # noqa: S608
            " ORDER BY created_at, id"
        ).fetchall()
        return [AgentRecord.model_validate(dict(zip(COLUMNS, row, strict=True))) for row in rows]

    return store.read(read)
