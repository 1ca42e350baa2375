"""Key-value memory over HTTP, through the memory flow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from phoenix.api.models import (
    NOT_BLANK,
    MemoryItemResponse,
    MemorySearchResponse,
    MemoryStoreRequest,
    error_responses,
)
from phoenix.api.results import run_flow_response

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
