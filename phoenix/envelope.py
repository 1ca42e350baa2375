"""The router's reply: `{"type", "message", ...}`, the shape every caller of the router relies on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from phoenix.errors import PhoenixError


class Envelope(BaseModel):
    """A router reply; capability-specific fields ride along as extra fields."""

    model_config = ConfigDict(extra="allow")

    type: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.type == "error"

    @property
    def error_code(self) -> str | None:
        return (self.model_extra or {}).get("code") if self.is_error else None


def error_envelope(error: PhoenixError) -> dict[str, Any]:
    return {"type": "error", "message": error.message, "code": error.code}
