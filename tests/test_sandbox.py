"""The sandbox holds: each escape a model's code might try is tried here, for real, and fails.

Every test runs a real Python program through `run_sandboxed` (namespaces, read-only mounts,
rlimits, its own user id as root) and checks both what the program saw and what it left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import uuid
from pathlib import Path

import pytest

from phoenix.tools.code_interpreter import python_argv
from phoenix.tools.sandbox import (
    SandboxLimits,
    SandboxResult,
    run_sandboxed,
    sandbox_environment,
    sandbox_python,
    scratch_folder,
)
from tests.conftest import wait_for

LIMITS = SandboxLimits(timeout_s=5, memory_mb=256, processes=16, output_bytes=20000)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run_python(home: Path, code: str, limits: SandboxLimits = LIMITS) -> SandboxResult:
    with scratch_folder(home) as folder:
        environment = sandbox_environment(folder)
        (folder / "main.py").write_text(code)
        python = sandbox_python(environment)
        assert python is not None
        return run_sandboxed(python_argv(python), folder, limits, environment=environment)


def test_secret_environment_variables_never_reach_the_program(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "PHOENIX_LLM_API_KEY": "sk-sandbox-secret",
        "GITHUB_PAT": "ghp_sandbox_secret",
        "AWS_SECRET_ACCESS_KEY": "aws-sandbox-secret",
        "STABLE_DIFFUSION_API_KEY": "sd-sandbox-secret",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    # Also the parent's own /proc/PID/environ, the classic side door.
    code = f"""
import json, os
seen = dict(os.environ)
try:
    seen["_parent"] = open("/proc/{os.getpid()}/environ", "rb").read().decode("latin-1")
except OSError as error:
    seen["_parent"] = "refused: " + type(error).__name__
print(json.dumps(seen))
"""
    result = run_python(home, code)
    assert result.exit_code == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["_parent"].startswith("refused"), seen["_parent"][:200]
    for name, value in secrets.items():
        assert name not in seen
        assert value not in result.stdout
    assert not any(key.startswith(("PHOENIX_", "PREFECT_", "GITHUB_")) for key in seen)
    assert "environment-allow-list" in result.isolation


def test_writing_outside_the_scratch_folder_fails(home: Path) -> None:
    marker = uuid.uuid4().hex
    home.mkdir(parents=True)
    targets = [home / f"escape-{marker}", Path(f"/tmp/escape-{marker}"), Path(f"/dev/shm/e-{marker}")]
    code = f"""
import json
outcome = {{}}
for target in {[str(t) for t in targets]!r}:
    try:
        open(target, "w").write("x")
        outcome[target] = "written"
    except OSError as error:
        outcome[target] = type(error).__name__
open("inside.txt", "w").write("ok")
outcome["inside"] = open("inside.txt").read()
print(json.dumps(outcome))
"""
    result = run_python(home, code)
    assert result.exit_code == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome.pop("inside") == "ok"  # the scratch folder itself is writable
    assert "written" not in outcome.values(), outcome
    for target in targets:
        assert not target.exists()
    assert "read-only-filesystem" in result.isolation


def test_no_network_not_even_to_a_listening_local_server(home: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = f"""
import socket
for address in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
    try:
        socket.create_connection(address, timeout=2).close()
        print("connected", address)
    except OSError as error:
        print("refused", address, type(error).__name__)
"""
        result = run_python(home, code)
    assert result.exit_code == 0, result.stderr
    assert "connected" not in result.stdout
    assert result.stdout.count("refused") == 2
    assert "network-namespace" in result.isolation


def test_host_unix_sockets_and_secrets_are_out_of_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only mount does not stop connect() to a 0777 Unix socket: the folders where host
    sockets and Phoenix's secrets live are empty in the sandbox, the scratch folder still works."""
    phoenix_home = tmp_path / "ph"
    phoenix_home.mkdir()
    monkeypatch.setenv("PHOENIX_HOME", str(phoenix_home))
    (phoenix_home / "api-token").write_text("secret-token")
    paths = [f"/tmp/phx-{uuid.uuid4().hex[:8]}.sock", str(phoenix_home / "s.sock")]
    servers = []
    try:
        for path in paths:
            server = socket.socket(socket.AF_UNIX)
            server.bind(path)
            os.chmod(path, 0o777)
            server.listen()
            servers.append(server)
        code = f"""
import socket
for path in {paths!r} + ["/run/dbus/system_bus_socket"]:
    client = socket.socket(socket.AF_UNIX)
    try:
        client.connect(path)
        print("connected", path)
    except OSError as error:
        print("refused", path, type(error).__name__)
try:
    print("read", open({str(phoenix_home / "api-token")!r}).read())
except OSError as error:
    print("unreadable", type(error).__name__)
open("inside.txt", "w").write("ok")
print("inside", open("inside.txt").read())
"""
        result = run_python(phoenix_home, code)
    finally:
        for server in servers:
            server.close()
        with contextlib.suppress(OSError):
            os.unlink(paths[0])
    assert result.exit_code == 0, result.stderr
    assert "connected" not in result.stdout and "secret-token" not in result.stdout
    assert result.stdout.count("refused") == 3 and "unreadable" in result.stdout
    assert "inside ok" in result.stdout
    assert "hidden-sockets-and-home" in result.isolation


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as stream:
                    line = next(line for line in stream if line.startswith("Uid:"))
            except (OSError, StopIteration):
                continue
            if int(line.split()[1]) == uid:
                found.append(int(entry))
    return found


def test_a_fork_bomb_meets_the_process_limit_and_leaves_nothing_behind(home: Path) -> None:
    code = """
import os, time
while True:
    try:
        os.fork()
    except OSError as error:
        print("fork refused:", error.errno, flush=True)
        time.sleep(60)
"""
    limits = LIMITS.model_copy(update={"timeout_s": 2.0})
    result = run_python(home, code, limits)
    assert result.timed_out
    assert "fork refused" in result.stdout
    assert result.duration_s < 6
    uids = [int(step.rsplit("-", 1)[1]) for step in result.isolation if step.startswith("user-id-")]
    if os.geteuid() == 0:
        assert uids and "process-limit" in result.isolation
        wait_for(lambda: _processes_of(uids[0]) == [], timeout_s=5)


def test_an_infinite_loop_is_stopped_at_the_timeout(home: Path) -> None:
    limits = LIMITS.model_copy(update={"timeout_s": 1.5})
    result = run_python(home, "while True:\n    pass\n", limits)
    assert result.timed_out and result.exit_code is None
    assert 1.4 < result.duration_s < 5


def test_a_gigabyte_allocation_is_a_memory_error(home: Path) -> None:
    result = run_python(home, "data = bytearray(1024 ** 3)\nprint('allocated')\n")
    assert result.exit_code != 0
    assert "allocated" not in result.stdout
    assert "MemoryError" in result.stderr
    assert "memory-limit" in result.isolation


def test_an_output_flood_is_capped_and_stopped(home: Path) -> None:
    result = run_python(home, "while True:\n    print('x' * 1000)\n")
    assert result.truncated and not result.timed_out
    assert len(result.stdout) == LIMITS.output_bytes
    assert result.duration_s < 4


def test_the_scratch_folder_is_removed_afterwards(home: Path) -> None:
    with scratch_folder(home) as folder:
        (folder / "left.txt").write_text("x")
        run_sandboxed([sys.executable, "-c", "pass"], folder, LIMITS)
    assert not folder.exists()


def test_a_folder_chmodded_to_zero_is_removed_too(home: Path) -> None:
    with scratch_folder(home) as folder:
        code = "import os; os.makedirs('a/b'); open('a/b/f', 'w').write('x'); os.chmod('a', 0)"
        result = run_sandboxed([sys.executable, "-c", code], folder, LIMITS)
        assert result.exit_code == 0, result.stderr
    assert not folder.exists()


def test_a_relative_program_is_found_in_the_working_folder(home: Path) -> None:
    with scratch_folder(home) as folder:
        script = folder / "run.sh"
        script.write_text("#!/bin/sh\necho from-the-scratch\n")
        script.chmod(0o755)
        result = run_sandboxed(["./run.sh"], folder, LIMITS)
        with pytest.raises(FileNotFoundError):
            run_sandboxed(["./missing.sh"], folder, LIMITS)
    assert result.stdout == "from-the-scratch\n", result.stderr
