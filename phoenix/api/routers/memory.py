"""Key-value and vector memory over HTTP, through the memory flow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from phoenix.api.models import (
    NOT_BLANK,
    MemoryItemResponse,
    MemorySearchResponse,
    MemoryStoreRequest,
    VectorItemResponse,
    VectorListResponse,
    VectorSearchResponse,
    VectorStoreRequest,
    error_responses,
)
from phoenix.api.results import run_flow_response
from phoenix.errors import BadInput

router = APIRouter(prefix="/api/memory", tags=["memory"])

Key = Annotated[str, Path(min_length=1, max_length=10_000, pattern=NOT_BLANK)]


def _memory(**parameters: Any) -> Any:
    return run_flow_response("memory", parameters)


@router.post("/store", response_model=MemoryItemResponse, responses=error_responses(422, 400))
def store(request: MemoryStoreRequest) -> Any:
    """Remember `value` under `key` (replacing what the key held)."""
    return _memory(action="store", key=request.key, value=request.value)


@router.get(
    "/get/{key:path}", response_model=MemoryItemResponse, responses=error_responses(422, 400, 404)
)
def get(key: Key) -> Any:
    """Recall the value under `key`; 404 if there is none."""
    return _memory(action="get", key=key)


@router.get("/search", response_model=MemorySearchResponse, responses=error_responses(422, 400))
def search(
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=10_000,
            pattern=NOT_BLANK,
            description="Key prefix or text contained in the value.",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    """Memories whose key starts with `q` or whose value contains it."""
    return _memory(action="search", query=q, limit=limit)


@router.delete(
    "/delete/{key:path}", response_model=MemoryItemResponse, responses=error_responses(422, 400, 404)
)
def delete(key: Key) -> Any:
    """Forget `key`; 404 if there is none."""
    return _memory(action="delete", key=key)


@router.post(
    "/vector/store", response_model=VectorItemResponse, responses=error_responses(422, 400, 502)
)
def vector_store(request: VectorStoreRequest) -> Any:
    """Remember `text` by its meaning; the same text again answers the stored item (`created`
    false). An empty or blank text is a 400."""
    return _memory(action="vector-store", value=request.text, metadata=request.metadata)


FILTER_PATTERN = r"^\s*[^:\s][^:]*:"
"""A filter names a key, then a colon: documented (a schema-valid filter is usable) and checked
below with a 400, as every other value Phoenix refuses by meaning."""


def _filters(values: list[str]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for value in values:
        key, colon, wanted = value.partition(":")
        if not colon or not key.strip():
            raise BadInput(f"A filter is key:value, not {value!r}")
        filters[key.strip()] = wanted
    return filters


@router.get(
    "/vector/search", response_model=VectorSearchResponse, responses=error_responses(422, 400, 502)
)
def vector_search(
    q: Annotated[
        str, Query(max_length=10_000, description="The meaning to look for; empty finds nothing.")
    ] = "",
    k: Annotated[int, Query(description="How many results (default 5; clamped into 1..50).")] = 5,
    filter: Annotated[  # noqa: A002 - the query parameter's public name
        list[str],
        Query(
            description="key:value; only texts whose metadata has that value (repeatable).",
            json_schema_extra={"items": {"type": "string", "pattern": FILTER_PATTERN}},
        ),
    ] = [],  # noqa: B006 - FastAPI copies the default
) -> Any:
    """The `k` stored texts closest in meaning to `q`, best first, each with its cosine score."""
    return _memory(action="vector-search", query=q, k=k, filters=_filters(filter) or None)


@router.get("/vector/all", response_model=VectorListResponse, responses=error_responses(422, 400))
def vector_all(limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> Any:
    """The newest stored texts (of the configured embedding model) and how many there are."""
    return _memory(action="vector-all", limit=limit)
