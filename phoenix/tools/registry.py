"""The tools an agent may be given: each one's name, what it does, and a JSON schema of its arguments.

The five tools of the original system — `web_search`, `code_interpreter`, `database`, `terminal`,
`sniffer` — plus image and audio generation, whose outputs are files (`output_kind` "image",
"audio").  The schemas are what an LLM sees in a tool-calling request, what `phoenix tools exec`
checks, and what the MCP server publishes, so they are the one description of each tool's
arguments (docs/design.md, "Tool arguments").  `run.run_tool` validates against them before a tool
runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from phoenix.errors import NotFound

OutputKind = Literal["text", "image", "audio"]


class ToolSpec(BaseModel):
    """One tool: `parameters` is a JSON schema (draft 2020-12) of its arguments object."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    parameters: dict[str, Any] = Field(description="JSON schema of the arguments object")
    output_kind: OutputKind = "text"

    def as_openai_tool(self) -> dict[str, Any]:
        """The tool as an OpenAI-style `tools` entry (what litellm passes to the model)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def _object(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema | extra


_PROMPT = {"type": "string", "minLength": 1, "maxLength": 4000}

TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in [
        ToolSpec(
            name="web_search",
            description="Search the web (a SearxNG-compatible endpoint); returns titles, URLs and"
            " snippets.",
            parameters=_object(
                {
                    "query": {"type": "string", "minLength": 1, "maxLength": 500},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                },
                ["query"],
            ),
        ),
        ToolSpec(
            name="code_interpreter",
            description="Run a short Python (or JavaScript) program in a sandbox with no network"
            " and return what it printed.",
            parameters=_object(
                {
                    "code": {"type": "string", "minLength": 1, "maxLength": 100_000},
                    "language": {
                        "type": "string",
                        "enum": ["python", "javascript"],
                        "default": "python",
                    },
                },
                ["code"],
            ),
        ),
        ToolSpec(
            name="database",
            description='Search Phoenix\'s knowledge base by meaning ({"query"}) or run one'
            ' read-only SELECT over Phoenix\'s DuckDB ({"sql"}).',
            parameters=_object(
                {
                    "query": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "sql": {"type": "string", "minLength": 1, "maxLength": 20_000},
                    "k": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
                },
                oneOf=[{"required": ["query"]}, {"required": ["sql"]}],
            ),
        ),
        ToolSpec(
            name="terminal",
            description="Run one allow-listed command (argv, never a shell) in the sandbox.",
            parameters=_object(
                {
                    "argv": {
                        "type": "array",
                        "items": {"type": "string", "maxLength": 4096},
                        "minItems": 1,
                        "maxItems": 64,
                    }
                },
                ["argv"],
            ),
        ),
        ToolSpec(
            name="sniffer",
            description="A read-only view of this machine's network: open connections and"
            " per-interface counters.",
            parameters=_object({}),
        ),
        ToolSpec(
            name="image_generation",
            description="Generate an image from a prompt (STABLE_DIFFUSION_API_URL); returns the"
            " saved file's path.",
            parameters=_object(
                {
                    "prompt": _PROMPT,
                    "width": {"type": "integer", "minimum": 64, "maximum": 2048, "default": 512},
                    "height": {"type": "integer", "minimum": 64, "maximum": 2048, "default": 512},
                },
                ["prompt"],
            ),
            output_kind="image",
        ),
        ToolSpec(
            name="audio_generation",
            description="Speak a text (TTS_API_URL); returns the saved audio file's path.",
            parameters=_object(
                {"text": _PROMPT, "voice": {"type": "string", "maxLength": 100}}, ["text"]
            ),
            output_kind="audio",
        ),
    ]
}
"""Every tool by name, in the order `phoenix tools list` shows them."""


def get_tool(name: str) -> ToolSpec:
    """The tool called `name`; NotFound naming the known tools otherwise."""
    try:
        return TOOLS[name]
    except KeyError:
        raise NotFound(f"No tool named {name!r}; the tools are: {', '.join(TOOLS)}") from None


def tool_names() -> list[str]:
    return list(TOOLS)
