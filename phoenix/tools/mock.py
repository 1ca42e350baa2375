"""SIMULATED_TOOLS_MOCK=true: every tool answers at once with an output derived from its
arguments alone — the same arguments, the same output — and nothing real runs (no sandbox, no
network, no database).  For demonstrations and tests of what calls the tools, as in the original.
Image and audio mocks still write a small file, so a caller that reads the path finds one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from phoenix.tools.registry import TOOLS
from phoenix.tools.run import ToolResult
from phoenix.tools.settings import ToolSettings

# A 1x1 PNG and a 44-byte silent WAV header: the smallest valid files of each kind.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
_WAV = (
    b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00@\x1f\x00\x00"
    b"\x01\x00\x08\x00data\x00\x00\x00\x00"
)


def digest(arguments: dict[str, Any]) -> str:
    """A short fingerprint of the arguments (key order does not matter)."""
    text = json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def mock_result(name: str, arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    tag = digest(arguments)
    kind = TOOLS[name].output_kind
    if name == "web_search":
        limit = int(arguments.get("limit") or 5)
        output = "\n".join(
            f"{i}. [mock] {arguments['query']} — result {i}\n   https://example.invalid/{tag}/{i}"
            for i in range(1, min(limit, 3) + 1)
        )
    elif name == "code_interpreter":
        output = f"[mock {arguments.get('language', 'python')} run {tag}]\n"
    elif name == "database":
        subject = arguments.get("sql") or arguments.get("query")
        output = f"[mock database {tag}] {subject}"
    elif name == "terminal":
        output = f"[mock terminal {tag}] {' '.join(arguments['argv'])}\n"
    elif name == "sniffer":
        output = "[mock sniffer] 0 connections\nInterfaces:\n  lo: sent 0 B, received 0 B"
    else:
        from phoenix.tools.media import save_media

        data = _PNG if kind == "image" else _WAV
        folder_file = save_media(settings, data, "png" if kind == "image" else "wav")
        final = folder_file.with_name(f"mock-{tag}{folder_file.suffix}")
        folder_file.replace(final)
        output = str(final)
    return ToolResult(tool=name, ok=True, output=output, kind=kind, mock=True)
