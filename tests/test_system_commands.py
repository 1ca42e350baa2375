"""System commands through the router and the HTTP API: `status` always; exec, read-file and
write-file only with PHOENIX_SYSTEM_COMMANDS=on, only inside the workspace, never through a shell.

The flows run for real in this process (the session's Prefect server); the API is the real FastAPI
application served by uvicorn on 127.0.0.1 in a thread of this process, so a test switches the
feature on or off with its environment, which the `system` flow reads on each run.  Exec runs in
the real sandbox of `phoenix.tools.sandbox`.
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from phoenix import __version__
from phoenix.human import Screen, show
from phoenix.settings import SettingsError
from phoenix.system.settings import load_system_settings
from tests.conftest import in_process_api

TOKEN = "system-test-token"  # noqa: S105 - the test API's own token
INJECTIONS = ["a; touch pwned", "$(touch pwned2)", "`touch pwned3`", "&& rm -rf .", "| cat /etc/passwd"]


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    """The API on a loopback port, its flows run in this process (as `phoenix api` runs them)."""
    with in_process_api(TOKEN) as client:
        yield client


@pytest.fixture
def workspace(tmp_path: Path, phoenix_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace of the test's own; system commands off (the default) until a test enables them."""
    folder = tmp_path / "workspace"
    monkeypatch.setenv("PHOENIX_WORKSPACE", str(folder))
    monkeypatch.delenv("PHOENIX_SYSTEM_COMMANDS", raising=False)
    return folder


@pytest.fixture
def enabled(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PHOENIX_SYSTEM_COMMANDS", "on")
    workspace.mkdir()
    return workspace


def route(command: str) -> dict[str, Any]:
    from flows import run_flow

    return run_flow("router", {"command": command})


def test_status_always_answers_through_the_router_and_the_api(
    workspace: Path, api: httpx.Client
) -> None:
    reply = route("system status")
    assert reply["type"] == "system" and reply["action"] == "status"
    assert reply["hostname"] == socket.gethostname() and reply["cpu_count"] == os.cpu_count()
    assert reply["version"] == __version__ and reply["python"].count(".") == 2
    assert len(reply["load_average"]) == 3 and reply["uptime_s"] > 0
    assert reply["memory"]["total_bytes"] > reply["memory"]["available_bytes"] > 0
    assert reply["disk"]["total_bytes"] > 0 and Path(reply["disk"]["path"]).exists()
    assert reply["system_commands"] is False and reply["workspace"] == str(workspace)
    assert reply["message"].startswith(f"{socket.gethostname()}: ")
    assert "system commands off" in reply["message"]

    answer = api.get("/api/system/status")
    assert answer.status_code == 200, answer.text
    assert answer.json()["cpu_count"] == os.cpu_count() and "type" not in answer.json()
    assert httpx.get(f"{api.base_url}/api/system/status").status_code == 401

    screen = Screen(out=io.StringIO(), err=io.StringIO())
    show("command", reply, screen)
    text = screen.out.getvalue()
    assert text.startswith(f"{socket.gethostname()} (Phoenix {__version__})")
    assert "off (PHOENIX_SYSTEM_COMMANDS)" in text and "{" not in text


@pytest.mark.parametrize(
    ("command", "path", "body"),
    [
        ("system exec touch made-by-exec", "/api/system/exec", {"argv": ["touch", "made-by-exec"]}),
        ("system read-file notes.txt", "/api/system/read-file", {"path": "notes.txt"}),
        (
            "system write-file notes.txt hello",
            "/api/system/write-file",
            {"path": "notes.txt", "content": "hello"},
        ),
    ],
)
def test_exec_read_and_write_are_off_by_default(
    workspace: Path, api: httpx.Client, command: str, path: str, body: dict[str, Any]
) -> None:
    reply = route(command)
    assert reply["type"] == "error" and reply["code"] == "system_commands_disabled"
    assert "PHOENIX_SYSTEM_COMMANDS=on" in reply["message"]
    answer = api.post(path, json=body)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "system_commands_disabled"
    assert not workspace.exists()  # nothing ran, nothing was written


def test_exec_takes_argv_and_never_a_shell(enabled: Path, api: httpx.Client) -> None:
    quoted = " ".join(f"'{text}'" for text in INJECTIONS)
    reply = route(f"system exec printf %s| {quoted}")
    assert reply["type"] == "system", reply
    assert reply["exit_code"] == 0 and reply["stdout"] == "|".join(INJECTIONS) + "|"
    assert reply["argv"] == ["printf", "%s|", *INJECTIONS]

    answer = api.post("/api/system/exec", json={"argv": ["echo", *INJECTIONS]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stdout"] == " ".join(INJECTIONS) + "\n"
    assert "network-namespace" in answer.json()["isolation"] or answer.json()["isolation"]
    assert sorted(p.name for p in enabled.iterdir()) == []  # no `touch pwned*` ran

    # Its working folder is the workspace: a relative path lands there, and nothing else is writable.
    assert route("system exec touch made-here")["exit_code"] == 0
    assert (enabled / "made-here").is_file()
    outside = enabled.parent / "outside-by-exec"
    failed = api.post("/api/system/exec", json={"argv": ["touch", str(outside)]})
    assert failed.status_code == 502 and failed.json()["code"] == "command_failed"
    assert failed.json()["exit_code"] != 0 and not outside.exists()
    missing = route("system exec no-such-program-xyz")
    assert missing["type"] == "error" and missing["code"] == "not_found"


def test_a_huge_argv_and_a_missing_workspace_are_clean_errors(
    workspace: Path, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_SYSTEM_COMMANDS", "on")
    missing = api.post("/api/system/read-file", json={"path": "notes.txt"})  # a fresh install
    assert missing.status_code == 404 and missing.json()["code"] == "not_found", missing.text
    huge = api.post("/api/system/exec", json={"argv": ["echo", *["x" * 40_000] * 2]})
    assert huge.status_code == 400 and huge.json()["code"] == "bad_input", huge.text[:300]


def test_written_files_read_back_whole(enabled: Path, api: httpx.Client) -> None:
    written = route("system write-file notes/today.txt Two  spaces\nand ünïcode")
    assert written["type"] == "system" and written["created"] is True
    assert written["path"] == "notes/today.txt"
    assert (enabled / "notes" / "today.txt").read_text() == "Two  spaces\nand ünïcode"
    assert route("system read-file notes/today.txt")["content"] == "Two  spaces\nand ünïcode"

    replaced = api.post("/api/system/write-file", json={"path": "notes/today.txt", "content": "x"})
    assert replaced.status_code == 200 and replaced.json() == {
        "path": "notes/today.txt", "size": 1, "created": False,
    }  # fmt: skip
    absolute = str(enabled / "notes" / "today.txt")  # an absolute path inside is fine
    read = api.post("/api/system/read-file", json={"path": absolute})
    assert read.status_code == 200 and read.json()["content"] == "x"
    assert sorted(p.name for p in (enabled / "notes").iterdir()) == ["today.txt"]  # no temp file

    assert api.post("/api/system/read-file", json={"path": "nope.txt"}).status_code == 404
    folder = api.post("/api/system/read-file", json={"path": "notes"})
    assert folder.status_code == 400 and "folder" in folder.json()["message"]


def test_paths_outside_the_workspace_are_refused(enabled: Path, api: httpx.Client) -> None:
    secret = enabled.parent / "secret.txt"
    secret.write_text("top secret")
    (enabled / "link-out").symlink_to(secret)
    (enabled / "folder-out").symlink_to(enabled.parent)
    for path in ["../secret.txt", "/etc/passwd", str(secret), "link-out", "folder-out/secret.txt",
                 "notes/../../secret.txt"]:  # fmt: skip
        reply = route(f"system read-file '{path}'")
        assert reply["type"] == "error" and reply["code"] == "outside_workspace", (path, reply)
        answer = api.post("/api/system/read-file", json={"path": path})
        assert answer.status_code == 400 and answer.json()["code"] == "outside_workspace", path
        assert "top secret" not in answer.text
        written = api.post("/api/system/write-file", json={"path": path, "content": "pwned"})
        assert written.status_code == 400 and written.json()["code"] == "outside_workspace", path
    assert secret.read_text() == "top secret"
    assert not (enabled.parent / "pwned").exists()


def test_reads_and_writes_past_their_caps_are_refused_whole(
    enabled: Path, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_SYSTEM_MAX_READ_BYTES", "16")
    monkeypatch.setenv("PHOENIX_SYSTEM_MAX_WRITE_BYTES", "16")
    assert (
        api.post("/api/system/write-file", json={"path": "f", "content": "0123456789abcdef"}).status_code
        == 200
    )
    too_big = api.post("/api/system/write-file", json={"path": "f", "content": "0123456789abcdefX"})
    assert too_big.status_code == 413 and too_big.json()["code"] == "too_large"
    assert (enabled / "f").read_text() == "0123456789abcdef"  # the old file, whole
    (enabled / "big").write_text("x" * 17)
    assert route("system read-file big")["code"] == "too_large"
    assert api.post("/api/system/read-file", json={"path": "big"}).status_code == 413


def test_a_setting_phoenix_cannot_use_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="PHOENIX_SYSTEM_COMMANDS: expected on or off"):
        load_system_settings({"PHOENIX_SYSTEM_COMMANDS": "maybe", "PHOENIX_HOME": "/tmp/x"})
    settings = load_system_settings({"PHOENIX_HOME": "/tmp/x"})
    assert settings.enabled is False and settings.workspace == Path("/tmp/x/workspace")
