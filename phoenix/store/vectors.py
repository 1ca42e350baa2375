"""Vector (semantic) memory: texts remembered by their meaning, found by cosine similarity.

Each text is embedded once (`phoenix.llm.embeddings`) and kept in `memory_vectors` with the name of
the model that embedded it; only the configured model's vectors are searched (two models' vectors
are not comparable).  A text's id is the SHA-256 of the model and the text, so storing the same text
again finds the item already there (`created: false`) without embedding it again; its metadata
stays that of the first store.

Metadata is a flat JSON object of strings, numbers and booleans.  A search filter `{key: value}`
matches an item whose metadata value under `key`, as text, equals `value`: strings as they are,
numbers and booleans as JSON writes them (`3`, `2.5`, `true`).

Why search reads the vectors into NumPy: measured on 2 cores with 100k vectors of 384 floats,
DuckDB's exact top-10 (`array_cosine_similarity … ORDER BY … LIMIT 10`) takes 60–110 ms (and
binding the query vector as a parameter adds ~45 ms, so literals are used wherever a vector goes
into SQL), while the same exact search as one matrix product in NumPy takes ~9 ms.  So each process
keeps the configured model's vectors as a float32 matrix (`_cache`), reloaded when the table has
changed.  The search stays exact (recall 1.0); bench/memory.py measures both.  Freshness is checked
without opening the database while the file store's files are unchanged since the last check (see
`_file_signature`); otherwise by the count and newest row number (`rowid`) of the model's rows, and new
rows are read and put in front (`_refreshed`) rather than all of them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from phoenix.errors import BadInput
from phoenix.store.database import StateStore, Store
from phoenix.store.schema import rollback_quietly

if TYPE_CHECKING:
    import duckdb
    import numpy as np

    from phoenix.settings import PhoenixSettings

K_DEFAULT = 5
K_MAX = 50
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 1000

MetadataValue = str | int | float | bool
Metadata = dict[str, MetadataValue]


class VectorItem(BaseModel):
    """A stored text; `created` is false when the same text was already remembered."""

    id: str
    text: str
    metadata: Metadata = Field(default_factory=dict)
    created: bool
    created_at: datetime


class VectorRecord(BaseModel):
    id: str
    text: str
    metadata: Metadata = Field(default_factory=dict)
    created_at: datetime


class VectorHit(BaseModel):
    """A search result: the text and its cosine similarity to the query (-1..1, higher is closer)."""

    id: str
    text: str
    metadata: Metadata = Field(default_factory=dict)
    score: float
    created_at: datetime


class VectorSearchResult(BaseModel):
    items: list[VectorHit]
    count: int


class VectorList(BaseModel):
    """The newest `count` items, of `total` stored for the configured model."""

    items: list[VectorRecord]
    count: int
    total: int


# --- arguments --------------------------------------------------------------------------------------


def clean_text(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise BadInput("A vector memory needs a text: it is empty")
    return cleaned


def clean_metadata(metadata: Any) -> Metadata:
    """A flat JSON object of strings, numbers and booleans (a JSON text is parsed first)."""
    if metadata is None or metadata == "":
        return {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            raise BadInput(f"The metadata is not JSON: {metadata[:80]!r}") from None
    if not isinstance(metadata, dict):
        raise BadInput("The metadata must be a JSON object of strings, numbers and booleans")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key.strip():
            raise BadInput("A metadata key must be a non-empty string")
        if not isinstance(value, str | int | float | bool) or value != value:  # noqa: PLR0124 - NaN
            raise BadInput(
                f"The metadata value of {key!r} must be a string, number or boolean, not {value!r}"
            )
    return dict(metadata)


def clean_filters(filters: dict[str, Any] | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for key, value in (filters or {}).items():
        if not isinstance(key, str) or not key.strip():
            raise BadInput("A filter needs a metadata key (key=value)")
        cleaned[key] = value if isinstance(value, str) else _as_text(value)
    return cleaned


def clamp_k(k: int | None) -> int:
    """The number of results: 5 by default; a k outside 1..50 is clamped into it, not refused."""
    if k is None:
        return K_DEFAULT
    return max(1, min(K_MAX, int(k)))


def clean_list_limit(limit: int | None) -> int:
    if limit is None:
        return LIST_LIMIT_DEFAULT
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise BadInput(f"The limit must be between 1 and {LIST_LIMIT_MAX}, not {limit}")
    return limit


def _as_text(value: Any) -> str:
    """A metadata value as a filter compares it: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def text_id(text: str, model: str) -> str:
    """The id of `text` embedded by `model`: identical texts share it, so they are stored once."""
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()[:32]


def vector_literal(vector: Any, lake: bool = False) -> str:
    """A vector as SQL text: binding it as a parameter costs ~45 ms in duckdb 1.5 (a literal ~1 ms).

    Only numbers formatted here go into the SQL, so the literal cannot carry anything else.
    """
    numbers = ",".join(f"{float(x):.9g}" for x in vector)  # 9 digits: every float32 round-trips
    cast = "FLOAT[]" if lake else f"FLOAT[{len(vector)}]"
    return f"'[{numbers}]'::{cast}"


# --- store, list, count -----------------------------------------------------------------------------

_COLUMNS = "id, text, metadata, created_at"


def _record(row: tuple[Any, ...]) -> VectorRecord:
    return VectorRecord(id=row[0], text=row[1], metadata=json.loads(row[2] or "{}"), created_at=row[3])


def _find(connection: duckdb.DuckDBPyConnection, table: str, item_id: str) -> tuple | None:
    return connection.execute(
        f"SELECT {_COLUMNS} FROM {table} WHERE id = ? ORDER BY rowid DESC LIMIT 1",  # noqa: S608
        [item_id],
    ).fetchone()


def store_text(
    store: StateStore, settings: PhoenixSettings, text: str, metadata: Any = None
) -> VectorItem:
    """Remember `text` by its meaning, with optional flat `metadata`.

    Raises:
        BadInput: the text is blank, or the metadata is not a flat object of scalars.
        EmbeddingFailed: the embedding model failed.
    """
    from phoenix.llm.embeddings import embed_text

    cleaned = clean_text(text)
    meta = clean_metadata(metadata)
    model = settings.embedding_model
    item_id = text_id(cleaned, model)
    existing = store.read(lambda c: _find(c, "memory_vectors", item_id))
    if existing is not None:  # the same text again: no need to embed it
        return VectorItem(**_record(existing).model_dump(), created=False)
    literal = vector_literal(embed_text(cleaned, settings), lake=store.lake)
    text_hash = hashlib.sha256(cleaned.encode()).hexdigest()
    values = [item_id, cleaned, text_hash, model, json.dumps(meta)]

    def insert(connection: duckdb.DuckDBPyConnection) -> tuple[bool, tuple]:
        # The file store's UNIQUE(text_hash, model) settles a race between two writers; the shared
        # store has no unique keys, so a race there leaves two rows of one id and reads take the
        # newest (as everywhere in the shared store).
        found = _find(connection, "memory_vectors", item_id)
        if found is not None:
            return False, found
        conflict = "" if store.lake else " ON CONFLICT DO NOTHING"
        connection.execute(
            "INSERT INTO memory_vectors (id, text, text_hash, model, metadata, vec) "  # noqa: S608
            f"VALUES (?, ?, ?, ?, ?::JSON, {literal}){conflict}",
            values,
        )
        row = _find(connection, "memory_vectors", item_id)
        assert row is not None  # noqa: S101 - inserted, or inserted by the winner of a race
        return True, row

    created, row = store.transaction(insert)
    return VectorItem(**_record(row).model_dump(), created=created)


def all_vectors(store: StateStore, settings: PhoenixSettings, limit: int | None = None) -> VectorList:
    """The configured model's memories, newest first (20 by default, at most 1000)."""
    count = clean_list_limit(limit)
    model = settings.embedding_model
    table = store.current("memory_vectors")

    def read(connection: duckdb.DuckDBPyConnection) -> tuple[list[tuple], int]:
        rows = connection.execute(
            f"SELECT {_COLUMNS} FROM {table} WHERE model = ? "  # noqa: S608 - fixed SQL
            "ORDER BY created_at DESC, id LIMIT ?",
            [model, count],
        ).fetchall()
        return rows, _count(connection, table, model)

    rows, total = store.read(read)
    items = [_record(row) for row in rows]
    return VectorList(items=items, count=len(items), total=total)


def _count(connection: duckdb.DuckDBPyConnection, table: str, model: str) -> int:
    row = connection.execute(
        f"SELECT count(*) FROM {table} WHERE model = ?",  # noqa: S608 - fixed SQL
        [model],
    ).fetchone()
    return int(row[0]) if row else 0


def count(store: StateStore, settings: PhoenixSettings) -> int:
    """How many texts the configured model's vector memory holds."""
    table = store.current("memory_vectors")
    return store.read(lambda c: _count(c, table, settings.embedding_model))


# --- search -----------------------------------------------------------------------------------------


@dataclass
class _Matrix:
    """One model's memories in one store, as this process last read them, newest (highest rowid)
    first.  Never changed once in the cache (but for the `columns` memo, which only ever gains
    values derived from its own `metadata`): a refresh builds a new one."""

    version: tuple[int, Any]
    signature: tuple | None
    ids: list[str]
    texts: list[str]
    metadata: list[str]  # JSON text, parsed for hits and filtered keys only
    created_at: list[datetime]
    vectors: np.ndarray  # [n, dim] float32, unit rows
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # metadata key -> values as text

    def column(self, key: str) -> np.ndarray:
        import numpy as np

        if key not in self.columns:
            values = []
            for raw in self.metadata:
                meta = json.loads(raw) if raw and raw != "{}" else {}
                values.append(_as_text(meta[key]) if key in meta else None)
            self.columns[key] = np.array(values, dtype=object)
        return self.columns[key]

    def with_rows(
        self, rows: list[tuple], vectors: np.ndarray, version: tuple[int, Any], signature: tuple | None
    ) -> _Matrix:
        """A new matrix with `rows` (numbered after every row here, newest first) in front.

        Copy-on-write: a search that got this matrix from the cache may still be using it, so it
        is never changed in place; the new one replaces it in the cache.
        """
        import numpy as np

        return _Matrix(
            version=version,
            signature=signature,
            ids=[row[0] for row in rows] + self.ids,
            texts=[row[1] for row in rows] + self.texts,
            metadata=[row[2] or "{}" for row in rows] + self.metadata,
            created_at=[row[3] for row in rows] + self.created_at,
            vectors=np.concatenate([vectors, self.vectors]) if len(self.vectors) else vectors,
        )


_cache: dict[tuple[str, str], _Matrix] = {}
_cache_lock = threading.Lock()
# Longer than a fine-grained file system's timestamp tick (a jiffy: 1–10 ms).  A coarse one (FAT's
# 2 s, ext3's or some network file systems' 1 s) can give a file written twice within one tick the
# same mtime; the size and the inode then tell most writes apart, but not all: run the store on a
# file system with sub-second timestamps.
_QUIET_S = 0.05


def _file_signature(store: StateStore) -> tuple | None:
    """The file store's database and WAL sizes and times, or None when they cannot be trusted.

    Every commit changes the WAL or (after a checkpoint) the database file, so an unchanged
    signature means an unchanged table, and a search need not open the database at all.  A file
    written in the last `_QUIET_S` may be written again within the same timestamp tick, so it gives
    no signature (the version is then read from the database).
    """
    if not isinstance(store, Store):
        return None
    now = time.time()
    signature: list[Any] = []
    for path in (store.path, store.path.with_name(store.path.name + ".wal")):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            signature.append(None)
            continue
        if now - stat.st_mtime < _QUIET_S:
            return None
        signature.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(signature)


def _version(connection: duckdb.DuckDBPyConnection, model: str, lake: bool) -> tuple[int, int]:
    """How many memories the model has, and the newest row's number (both stores number rows in
    commit order, and memories are only ever added)."""
    counted = "count(DISTINCT id)" if lake else "count(*)"  # the shared store may repeat an id
    row = connection.execute(
        f"SELECT {counted}, coalesce(max(rowid), -1) FROM memory_vectors "  # noqa: S608
        "WHERE model = ?",
        [model],
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, -1)


def _load(
    connection: duckdb.DuckDBPyConnection, model: str, after: int = -1
) -> tuple[list[tuple], np.ndarray]:
    """The model's rows numbered after `after`, one per id (the newest), and their vectors.

    Two queries (the vectors come fastest through `fetchnumpy`, the rest as Python values): the
    caller runs them in one transaction (`_in_one_snapshot`) so that both see the same rows.
    """
    import numpy as np

    query = (
        f"SELECT {_COLUMNS} FROM memory_vectors WHERE model = ? AND rowid > ? "  # noqa: S608
        "ORDER BY rowid DESC"
    )
    rows = connection.execute(query, [model, after]).fetchall()
    data = connection.execute(
        "SELECT vec FROM memory_vectors WHERE model = ? AND rowid > ? ORDER BY rowid DESC",
        [model, after],
    ).fetchnumpy()["vec"]
    seen: set[str] = set()
    keep = []
    for index, row in enumerate(rows):  # the shared store may hold an id twice: newest wins
        if row[0] not in seen:
            seen.add(row[0])
            keep.append(index)
    if not keep:
        return [], np.zeros((0, 0), dtype=np.float32)
    return [rows[i] for i in keep], np.stack([np.asarray(data[i], dtype=np.float32) for i in keep])


def _refreshed(
    connection: duckdb.DuckDBPyConnection,
    model: str,
    cached: _Matrix | None,
    signature: tuple | None,
    lake: bool,
) -> _Matrix:
    """`cached` brought up to date as a new matrix (`cached` itself is left as it is): the same
    rows, those rows with the ones added since in front, or everything read again.

    Memories are only ever added, so the rows added since are those numbered after the newest
    cached one; if the counts then disagree (rows deleted by hand, say), everything is read again.
    """
    version = _version(connection, model, lake)
    if cached is not None and cached.version == version:
        return replace(cached, signature=signature)  # shares the (unchanged) arrays
    if cached is not None and version[1] > cached.version[1]:
        rows, vectors = _load(connection, model, after=cached.version[1])
        known = set(cached.ids)
        fresh = [i for i, row in enumerate(rows) if row[0] not in known]
        if len(cached.ids) + len(fresh) == version[0]:
            if not fresh:
                return replace(cached, version=version, signature=signature)
            return cached.with_rows([rows[i] for i in fresh], vectors[fresh], version, signature)
    rows, vectors = _load(connection, model)
    return _Matrix(
        version=version,
        signature=signature,
        ids=[row[0] for row in rows],
        texts=[row[1] for row in rows],
        metadata=[row[2] or "{}" for row in rows],
        created_at=[row[3] for row in rows],
        vectors=vectors,
    )


def _in_one_snapshot(
    connection: duckdb.DuckDBPyConnection,
    model: str,
    cached: _Matrix | None,
    signature: tuple | None,
    lake: bool,
) -> _Matrix:
    """`_refreshed` inside one read transaction: its queries (the version, the rows, the vectors)
    then all see one snapshot.  Outside one, the shared store commits each query on its own, and a
    row inserted between the rows' query and the vectors' query would shift every vector against
    its text."""
    connection.begin()
    try:
        return _refreshed(connection, model, cached, signature, lake)
    finally:
        rollback_quietly(connection)  # nothing was written: ending it either way is the same


def _matrix(store: StateStore, model: str) -> _Matrix:
    """The model's vectors in `store`, from this process's cache when the table has not changed."""
    key = (f"{type(store).__name__}:{store.describe()}", model)
    with _cache_lock:
        cached = _cache.get(key)
        signature = _file_signature(store)
        if cached is not None and signature is not None and cached.signature == signature:
            return cached
        matrix = store.read(lambda c: _in_one_snapshot(c, model, cached, signature, store.lake))
        _cache[key] = matrix
        return matrix


def semantic_search(
    store: StateStore,
    settings: PhoenixSettings,
    query: str,
    k: int | None = None,
    filters: dict[str, str] | None = None,
) -> VectorSearchResult:
    """The `k` memories closest in meaning to `query` (cosine similarity), best first.

    An empty or blank query finds nothing (an empty result, not an error); `k` is clamped into
    1..50; `filters` keep only memories whose metadata has each key with that value.
    """
    import numpy as np

    from phoenix.llm.embeddings import embed_text

    text = (query or "").strip()
    wanted = clamp_k(k)
    conditions = clean_filters(filters)
    if not text:
        return VectorSearchResult(items=[], count=0)
    matrix = _matrix(store, settings.embedding_model)
    if not matrix.ids:
        return VectorSearchResult(items=[], count=0)
    scores = matrix.vectors @ embed_text(text, settings)
    if conditions:
        keep = np.ones(len(matrix.ids), dtype=bool)
        for key, value in conditions.items():
            keep &= matrix.column(key) == value
        scores = np.where(keep, scores, -np.inf)
    wanted = min(wanted, len(matrix.ids))
    top = np.argpartition(-scores, wanted - 1)[:wanted]
    top = top[np.lexsort((top, -scores[top]))]  # best first; ties newest first (the matrix's order)
    hits = [
        VectorHit(
            id=matrix.ids[i],
            text=matrix.texts[i],
            metadata=json.loads(matrix.metadata[i]),
            score=round(float(scores[i]), 6),
            created_at=matrix.created_at[i],
        )
        for i in top
        if np.isfinite(scores[i])
    ]
    return VectorSearchResult(items=hits, count=len(hits))
