"""The router's reply: `{"type", "message", ...}`, the shape every caller of the router relies on."""

from __future__ import annotations

from typing import Any

from phoenix.errors import PhoenixError


def error_envelope(error: PhoenixError) -> dict[str, Any]:
    """The envelope of a failed command: its message, and the code the CLI and API map."""
    return {"type": "error", "message": error.message, "code": error.code}
