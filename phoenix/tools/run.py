"""`run_tool`: one tool call — its arguments checked against the tool's schema, then run.

Every caller (the tool agent's loop, `phoenix tools exec`, the MCP server) goes through here, so
each gets the same checks, the same mock mode and the same result shape.  A tool's own failure or
bad arguments never raise: the result says `ok=False` and why, which is what a model needs to
read to try again.  Only a programming error inside Phoenix would propagate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jsonschema
from pydantic import BaseModel, Field

from phoenix.errors import PhoenixError
from phoenix.tools.registry import TOOLS, OutputKind
from phoenix.tools.settings import ToolSettings


class ToolResult(BaseModel):
    """What one tool call gave: `output` is text (or the saved file's path for image/audio)."""

    tool: str
    ok: bool
    output: str | None = None
    error: str | None = None
    kind: OutputKind = "text"
    isolation: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    mock: bool = False
    details: dict[str, Any] = Field(default_factory=dict)


class ToolFailed(PhoenixError):
    """A tool ran and could not do what was asked (raised inside tools, caught by `run_tool`)."""

    code = "tool_failed"
    http_status = 502


Runner = Callable[[dict[str, Any], ToolSettings], ToolResult]


def _runners() -> dict[str, Runner]:
    """Each tool's implementation, imported when first used (some import heavy modules)."""
    from phoenix.tools import code_interpreter, database, media, sniffer, terminal, web_search

    return {
        "web_search": web_search.run,
        "code_interpreter": code_interpreter.run,
        "database": database.run,
        "terminal": terminal.run,
        "sniffer": sniffer.run,
        "image_generation": media.run_image,
        "audio_generation": media.run_audio,
    }


def argument_errors(name: str, arguments: Any) -> list[str]:
    """Why `arguments` do not fit the tool's schema (empty when they do)."""
    validator = jsonschema.Draft202012Validator(TOOLS[name].parameters)
    problems = []
    for error in sorted(validator.iter_errors(arguments), key=lambda e: list(e.path)):
        where = ".".join(str(part) for part in error.path)
        problems.append(f"{where}: {error.message}" if where else error.message)
    return problems


def with_defaults(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments with the schema's defaults filled in."""
    properties = TOOLS[name].parameters.get("properties", {})
    filled = {key: spec["default"] for key, spec in properties.items() if "default" in spec}
    return filled | arguments


def run_tool(name: str, arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    """Run the tool `name` with `arguments`; never raises for the tool's failure or bad input."""
    started = time.monotonic()
    if name not in TOOLS:
        return ToolResult(
            tool=name, ok=False, error=f"No tool named {name!r}; the tools are: {', '.join(TOOLS)}"
        )
    kind = TOOLS[name].output_kind
    problems = argument_errors(name, arguments)
    if problems:
        return ToolResult(tool=name, ok=False, kind=kind, error="Bad arguments: " + "; ".join(problems))
    arguments = with_defaults(name, arguments)
    try:
        if settings.mock:
            from phoenix.tools.mock import mock_result

            result = mock_result(name, arguments, settings)
        else:
            result = _runners()[name](arguments, settings)
    except PhoenixError as error:
        result = ToolResult(tool=name, ok=False, kind=kind, error=error.message)
    except OSError as error:  # the machine refused something (a folder, a program, a socket)
        result = ToolResult(tool=name, ok=False, kind=kind, error=f"{type(error).__name__}: {error}")
    return result.model_copy(update={"duration_s": round(time.monotonic() - started, 3)})
