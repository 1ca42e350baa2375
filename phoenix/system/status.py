"""What `system status` reports about the machine Phoenix runs on (never a secret)."""

from __future__ import annotations

import os
import platform
import socket
import time
from pathlib import Path

import psutil
from pydantic import BaseModel, Field

from phoenix import __version__
from phoenix.system.settings import SystemSettings


class MemoryUsage(BaseModel):
    total_bytes: int
    available_bytes: int
    used_percent: float


class DiskUsage(BaseModel):
    path: str = Field(description="PHOENIX_HOME (or its nearest existing parent).")
    total_bytes: int
    free_bytes: int
    used_percent: float


class SystemStatus(BaseModel):
    """The machine, its load and Phoenix's place on it."""

    version: str = Field(description="Phoenix's version.")
    hostname: str
    os: str = Field(description="e.g. Linux 6.8.0")
    platform: str
    python: str
    cpu_count: int
    load_average: list[float] = Field(description="1, 5 and 15 minutes.")
    memory: MemoryUsage
    disk: DiskUsage
    uptime_s: float = Field(description="Seconds since the machine booted.")
    system_commands: bool = Field(description="Whether exec, read-file and write-file are on.")
    workspace: str = Field(description="The folder they are confined to.")


def _existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists (a fresh PHOENIX_HOME may not be made yet)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def collect_status(home: Path, settings: SystemSettings) -> SystemStatus:
    """Host, OS, Python, CPUs, load, memory, the disk of `home`, uptime, and the settings."""
    memory = psutil.virtual_memory()
    disk_path = _existing(home)
    disk = psutil.disk_usage(str(disk_path))
    return SystemStatus(
        version=__version__,
        hostname=socket.gethostname(),
        os=f"{platform.system()} {platform.release()}",
        platform=platform.platform(),
        python=platform.python_version(),
        cpu_count=os.cpu_count() or 1,
        load_average=[round(value, 2) for value in os.getloadavg()],
        memory=MemoryUsage(
            total_bytes=memory.total, available_bytes=memory.available, used_percent=memory.percent
        ),
        disk=DiskUsage(
            path=str(disk_path),
            total_bytes=disk.total,
            free_bytes=disk.free,
            used_percent=disk.percent,
        ),  # fmt: skip
        uptime_s=round(time.time() - psutil.boot_time(), 1),
        system_commands=settings.enabled,
        workspace=str(settings.workspace),
    )
