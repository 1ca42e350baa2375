"""The sniffer tool: a read-only view of this machine's network — open connections and
per-interface counters, read through psutil (the kernel's tables, /proc/net), never a raw socket
or a capture.  Connections of other users' processes are listed without their process where the
kernel does not tell.
"""

from __future__ import annotations

from typing import Any

import psutil

from phoenix.tools.run import ToolResult
from phoenix.tools.settings import ToolSettings

MOST_CONNECTIONS = 200


def _address(address: Any) -> str:
    if not address:
        return ""
    return f"{address.ip}:{address.port}" if hasattr(address, "ip") else str(address)


def run(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        connections = []
    listed = [
        {
            "type": "tcp" if c.type == 1 else "udp",
            "local": _address(c.laddr),
            "remote": _address(c.raddr),
            "status": c.status,
            "pid": c.pid,
        }
        for c in connections[:MOST_CONNECTIONS]
    ]
    counters = {
        name: {
            "bytes_sent": io.bytes_sent,
            "bytes_recv": io.bytes_recv,
            "packets_sent": io.packets_sent,
            "packets_recv": io.packets_recv,
            "errors_in": io.errin,
            "errors_out": io.errout,
        }
        for name, io in psutil.net_io_counters(pernic=True).items()
    }
    lines = [
        f"{len(connections)} connections"
        + (f" (first {MOST_CONNECTIONS})" if len(connections) > MOST_CONNECTIONS else "")
    ]
    lines += [
        f"  {c['type']} {c['local']} -> {c['remote'] or '-'} {c['status']} pid={c['pid']}"
        for c in listed
    ]
    lines.append("Interfaces:")
    lines += [
        f"  {name}: sent {v['bytes_sent']} B, received {v['bytes_recv']} B"
        for name, v in counters.items()
    ]
    return ToolResult(
        tool="sniffer",
        ok=True,
        output="\n".join(lines),
        details={"connections": listed, "interfaces": counters},
    )
