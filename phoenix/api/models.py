"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CommandRequest(BaseModel):
    command: str = Field(description="A router command, e.g. 'memory get k' or 'help'.")


class SpeakRequest(BaseModel):
    user_input: str = Field(description="What the person said.")


class EnvelopeResponse(BaseModel):
    """The router's reply; capability-specific fields ride along."""

    model_config = ConfigDict(extra="allow")
    type: str
    message: str


class ErrorResponse(BaseModel):
    message: str
    code: str
    detail: Any | None = None


class MemoryStoreRequest(BaseModel):
    key: str = Field(description="The key; not empty or blank.")
    value: str


class MemoryItemResponse(BaseModel):
    key: str
    value: str


class MemorySearchResponse(BaseModel):
    items: list[MemoryItemResponse]
    count: int


class HealthResponse(BaseModel):
    status: str
    version: str
