"""The database tool: the knowledge base by meaning (`{"query"}`), or one read-only SELECT over
Phoenix's DuckDB (`{"sql"}`).

`query` goes to `phoenix.store.vectors.semantic_search` (the vector memory, top `k` by cosine
similarity).  `sql` is held four ways, each enough on its own for what it covers:

1. exactly one statement, and it is a SELECT (`duckdb.extract_statements` gives the type): no
   DELETE, COPY, ATTACH, SET, INSTALL, PRAGMA-with-effects, CALL;
2. it runs on a fresh in-memory DuckDB that ATTACHes Phoenix's file READ_ONLY;
3. with `enable_external_access=false` then `lock_configuration=true`: no `read_csv`,
   `read_text`, `'file.csv'` scans, no other ATTACH, no extension install — and no way to turn it
   back on;
4. at most `sql_row_limit` rows come back, a query still running at the sandbox's timeout is
   interrupted, and it has `SQL_MEMORY_LIMIT` of memory, `SQL_THREADS` threads and no spilling to
   disk (`max_temp_directory_size` 0): it runs inside a long-lived Phoenix process, so a huge
   sort or aggregate fails with "Out of Memory" rather than taking gigabytes or filling `.tmp`.

The file is opened read-only outside Phoenix's file lock, as any outside reader would: a writer
holding it means a short retry here, and Phoenix's writers retry this reader's lock in turn.  The
shared store (DuckLake) is read through its own catalog: SQL there is not offered yet.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import duckdb

from phoenix.errors import BadInput
from phoenix.tools.run import ToolFailed, ToolResult
from phoenix.tools.settings import ToolSettings

LOCK_WAIT_S = 10.0
SQL_MEMORY_LIMIT = "256MB"
SQL_THREADS = 1
_LIMITS = {
    "memory_limit": SQL_MEMORY_LIMIT,
    "threads": SQL_THREADS,
    "max_temp_directory_size": "0B",
}
CELL_MAX = 2000


def run(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    if "sql" in arguments:
        return run_sql(arguments["sql"], settings)
    return run_search(arguments["query"], int(arguments.get("k") or 5))


def run_search(query: str, k: int) -> ToolResult:
    import json

    from phoenix.settings import load_settings
    from phoenix.store import open_store
    from phoenix.store.vectors import semantic_search

    settings = load_settings()
    found = semantic_search(open_store(settings), settings, query, k)
    lines = [
        json.dumps({"score": round(hit.score, 4), "text": hit.text, "metadata": hit.metadata})
        for hit in found.items
    ]
    return ToolResult(
        tool="database",
        ok=True,
        output="\n".join(lines) if lines else "No memory matches.",
        details={"count": found.count, "mode": "semantic"},
    )


def check_select(sql: str) -> str:
    """The one SELECT statement of `sql`; BadInput for anything else."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise BadInput(f"The SQL does not parse: {error}") from None
    if len(statements) != 1:
        raise BadInput(f"One statement at a time, please (got {len(statements)})")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise BadInput(f"Only SELECT is allowed (read-only); this is {kind.name}")
    return statements[0].query


def run_sql(sql: str, settings: ToolSettings) -> ToolResult:
    from phoenix.settings import load_settings

    statement = check_select(sql)
    phoenix = load_settings()
    if phoenix.store_url:
        raise ToolFailed("SQL runs over the DuckDB file store only; this Phoenix uses DuckLake")
    path = phoenix.database_path
    if not path.exists():
        raise ToolFailed("Phoenix's database does not exist yet")
    connection = _read_only_connection(str(path))
    timer = threading.Timer(settings.sandbox_timeout, connection.interrupt)
    timer.start()
    try:
        cursor = connection.execute(statement)
        columns = [column[0] for column in cursor.description or []]
        rows = cursor.fetchmany(settings.sql_row_limit + 1)
    except duckdb.Error as error:
        raise ToolFailed(f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
    finally:
        timer.cancel()
        connection.close()
    more = len(rows) > settings.sql_row_limit
    rows = rows[: settings.sql_row_limit]
    return ToolResult(
        tool="database",
        ok=True,
        output=_table(columns, rows) + (f"\n(first {len(rows)} rows)" if more else ""),
        details={"mode": "sql", "columns": columns, "rows": len(rows), "truncated": more},
    )


def _read_only_connection(path: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with Phoenix's file attached read-only and no file access otherwise."""
    deadline = time.monotonic() + LOCK_WAIT_S
    backoff = 0.005
    while True:
        connection = duckdb.connect(":memory:", config=_LIMITS)  # fixed, then locked below
        try:
            escaped = path.replace("'", "''")
            connection.execute(f"ATTACH '{escaped}' AS phoenix (READ_ONLY)")
            connection.execute("USE phoenix")
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            return connection
        except duckdb.IOException as error:
            connection.close()
            if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                raise ToolFailed(f"Phoenix's database could not be opened: {error}") from None
        time.sleep(backoff * (0.5 + random.random()))
        backoff = min(backoff * 2, 0.2)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL_MAX else text[: CELL_MAX - 1] + "…"


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """Tab-separated rows under a header line: easy for a model and a person to read."""
    lines = ["\t".join(columns)]
    lines += ["\t".join(_cell(value) for value in row) for row in rows]
    return "\n".join(lines)
