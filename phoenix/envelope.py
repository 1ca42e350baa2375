"""The router's reply: `{"type", "message", ...}`, the shape every caller of the router relies on."""

from __future__ import annotations

from typing import Any

from phoenix.errors import PhoenixError


def error_envelope(error: PhoenixError) -> dict[str, Any]:
    """The envelope of a failed command: its message, and the code the CLI and API map."""
    return {"type": "error", "message": error.message, "code": error.code}


def failed_result(result: dict[str, Any], error: PhoenixError) -> dict[str, Any]:
    """A result whose operation failed: all its data kept, plus the error fields.

    The CLI exits with `exit_code_for(code)` and the HTTP API answers `http_status_for(code)` for
    any result whose `type` is "error", so a failed build or a propose with no proposal keeps its
    record and still reads as a failure.
    """
    return result | error_envelope(error)
