"""Agents as stored and as returned to callers: one `agents` table for every kind of agent.

A spawned agent has code in a repository (its URL, its pull request, its test report); a tool agent
(`phoenix agents create NAME --mission TEXT`) has a mission and assigned tools and no code.  Both
live in the same table, so an agent may have code, tools or both; `kind` in the shown record says
which it was made as.  The JSON of `phoenix spawn` and `phoenix agents show` is
`AgentRecord.shown()` (docs/design.md, "JSON shapes"; fields are only ever added).

Written the same way in both stores: a record is MERGEd on its id; reads take the newest row of an
id (the shared store has no unique keys).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from phoenix.errors import BadInput, Conflict, NotFound
from phoenix.store.database import StateStore

COLUMNS = (
    "id", "name", "description", "tier", "status", "repo_url", "pr_number", "pr_url",
    "test_passed", "test_exit_code", "test_duration_s", "model", "attempts", "error", "mission",
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
    mission: str | None = None  # set for a tool agent (possibly ""), None for a spawned one
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def kind(self) -> str:
        """ "tool" for an agent made by `create_agent` (a mission, no code), else "spawned"."""
        return "tool" if self.mission is not None and self.repo_url is None else "spawned"

    def shown(self) -> dict[str, Any]:
        """The public JSON shape: the record, its kind, its test report as one object."""
        record = self.model_dump(mode="json", exclude={"test_passed", "test_exit_code",
                                                       "test_duration_s"})  # fmt: skip
        record["kind"] = self.kind
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
    # A record without a mission (a re-spawn of a tool agent's name, say) keeps the stored one.
    updates = ", ".join(
        f"{column} = COALESCE(new.mission, agents.mission)"
        if column == "mission"
        else f"{column} = new.{column}"
        for column in _WRITTEN[1:]
    )
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


NAME_MAX = 64
MISSION_MAX = 4000
READY = "ready"  # the status of a tool agent: nothing to build, it runs when asked
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ID = re.compile(r"[0-9a-f]{10}")  # an agent id: uuid4().hex[:10], as `create_agent` and spawn make


def clean_agent_name(name: str | None) -> str:
    """The name as stored: trimmed; letters, digits, `.`, `_`, `-` (one word, so it can be named
    on a command line and in `--agents a,b`), at most NAME_MAX characters."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise BadInput("An agent name must not be empty or blank")
    if len(cleaned) > NAME_MAX:
        raise BadInput(f"An agent name is at most {NAME_MAX} characters (got {len(cleaned)})")
    if not _NAME.fullmatch(cleaned):
        raise BadInput(
            f"Bad agent name {cleaned!r}: use letters, digits, '.', '_' and '-', starting with a"
            " letter or digit"
        )
    return cleaned


def create_agent(store: StateStore, name: str, mission: str | None = None) -> AgentRecord:
    """A new tool agent: a name (unique among all agents, else Conflict) and a mission, no code.

    Its id is made like a spawned agent's, so every command that takes an agent id takes it.
    """
    cleaned = clean_agent_name(name)
    if _ID.fullmatch(cleaned):  # `find_agent` looks ids up first: such a name could shadow one
        raise BadInput(
            f"Bad agent name {cleaned!r}: ten hex digits look like an agent id; choose another"
        )
    text = " ".join((mission or "").split())
    if len(text) > MISSION_MAX:
        raise BadInput(f"A mission is at most {MISSION_MAX} characters (got {len(text)})")
    record = AgentRecord(id=uuid.uuid4().hex[:10], name=cleaned, status=READY, mission=text)
    names = ", ".join(_WRITTEN)
    marks = ", ".join("?" for _ in _WRITTEN)

    def insert(connection: duckdb.DuckDBPyConnection) -> AgentRecord:
        taken = _read(connection, "name", cleaned)  # in the same transaction as the insert
        if taken is not None:
            raise Conflict(
                f"An agent named {cleaned!r} already exists (id {taken.id}, {taken.kind} agent)"
            )
        if _read(connection, "id", cleaned) is not None:  # any id format: never shadow one
            raise Conflict(f"An agent's id is {cleaned!r}: a name must not equal an agent id")
        connection.execute(
            f"INSERT INTO agents ({names}) VALUES ({marks})",  # noqa: S608 - fixed names
            [getattr(record, column) for column in _WRITTEN],
        )
        stored = _read(connection, "id", record.id)
        assert stored is not None  # just written, in this transaction
        return stored

    return store.transaction(insert)


def find_agent(store: StateStore, id_or_name: str) -> AgentRecord:
    """The agent with this id, else the one with this name; NotFound when neither exists."""
    key = (id_or_name or "").strip()
    if not key:
        raise BadInput("Name an agent (its id or name; see: phoenix agents list)")

    def read(connection: duckdb.DuckDBPyConnection) -> AgentRecord | None:
        return _read(connection, "id", key) or _read(connection, "name", key)

    found = store.read(read)
    if found is None:
        raise NotFound(f"No agent with id {key!r} nor with that name (see: phoenix agents list)")
    return found


class ToolCallRow(BaseModel):
    """One row of `tool_calls`: a call a tool agent's model asked for, and what became of it."""

    id: str
    run_id: str | None
    agent_id: str | None
    step: int
    tool: str
    arguments: Any = Field(description="The parsed arguments, or the raw text of a malformed call.")
    allowed: bool
    ok: bool
    output: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    created_at: datetime | None = None


_CALL_COLUMNS = (
    "id", "run_id", "agent_id", "step", "tool", "arguments", "allowed", "ok", "output", "error",
    "duration_s",
)  # fmt: skip


def save_tool_call(store: StateStore, row: ToolCallRow) -> None:
    """Append one call (an insert only: it never conflicts with another writer)."""
    values = [json.dumps(row.arguments) if c == "arguments" else getattr(row, c) for c in _CALL_COLUMNS]
    store.transaction(
        lambda connection: connection.execute(
            f"INSERT INTO tool_calls ({', '.join(_CALL_COLUMNS)})"  # noqa: S608 - fixed names
            f" VALUES ({', '.join('?' for _ in _CALL_COLUMNS)})",
            values,
        )
    )


def tool_calls_of_run(store: StateStore, run_id: str) -> list[ToolCallRow]:
    """The calls recorded for the flow run `run_id`, in the order they were made."""

    def read(connection: duckdb.DuckDBPyConnection) -> list[ToolCallRow]:
        columns = (*_CALL_COLUMNS, "created_at")
        rows = connection.execute(
            f"SELECT {', '.join(columns)} FROM tool_calls WHERE run_id = ?"  # noqa: S608
            " ORDER BY step, created_at, rowid",
            [run_id],
        ).fetchall()
        found = [dict(zip(columns, row, strict=True)) for row in rows]
        for item in found:
            item["arguments"] = json.loads(item["arguments"])
        return [ToolCallRow.model_validate(item) for item in found]

    return store.read(read)
