"""Key-value memory over HTTP, through the memory flow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from phoenix.api.models import (
    ErrorResponse,
    MemoryItemResponse,
    MemorySearchResponse,
    MemoryStoreRequest,
)

router = APIRouter(prefix="/api/memory", tags=["memory"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 422)
}


def _memory(**parameters: Any) -> dict[str, Any]:
    from flows import run_flow

    return run_flow("memory", parameters)


@router.post("/store", response_model=MemoryItemResponse, responses=ERRORS)
def store(request: MemoryStoreRequest) -> dict[str, Any]:
    """Remember `value` under `key` (replacing what the key held)."""
    return _memory(action="store", key=request.key, value=request.value)


@router.get("/get/{key:path}", response_model=MemoryItemResponse, responses=ERRORS)
def get(key: str) -> dict[str, Any]:
    """Recall the value under `key`; 404 if there is none."""
    return _memory(action="get", key=key)


@router.get("/search", response_model=MemorySearchResponse, responses=ERRORS)
def search(
    q: str = Query(description="Key prefix or text contained in the value."),
    limit: int = Query(default=20, ge=1, le=100),
) -> dict[str, Any]:
    """Memories whose key starts with `q` or whose value contains it."""
    return _memory(action="search", query=q, limit=limit)


@router.delete("/delete/{key:path}", response_model=MemoryItemResponse, responses=ERRORS)
def delete(key: str) -> dict[str, Any]:
    """Forget `key`; 404 if there is none."""
    return _memory(action="delete", key=key)
