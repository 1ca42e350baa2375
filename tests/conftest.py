"""Fixtures: real servers on 127.0.0.1 and a temporary PHOENIX_HOME.

Prefect reads its settings when it is imported, so the session's Prefect server is started in
`pytest_configure`, before any test module imports Prefect: one real `prefect server start` for the
whole session (Phoenix's own managed server, under a temporary PHOENIX_HOME), reused by every test
and by every `phoenix` subprocess the tests start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SESSION_HOME = Path(tempfile.mkdtemp(prefix="phoenix-tests-"))

PHOENIX = str(Path(sys.executable).with_name("phoenix"))
"""The installed console script, next to this interpreter (the venv need not be on PATH)."""


def pytest_configure(config: pytest.Config) -> None:
    from phoenix.prefect_server import ensure_prefect_api
    from phoenix.settings import load_settings

    os.environ["PHOENIX_HOME"] = str(SESSION_HOME / "home")
    os.environ.pop("PREFECT_API_URL", None)
    for name in list(os.environ):
        if name.startswith("PHOENIX_LLM_") or name in ("PHOENIX_ORCH_RETRIES", "PHOENIX_API_TOKEN"):
            os.environ.pop(name)
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    ensure_prefect_api(load_settings())


def pytest_unconfigure(config: pytest.Config) -> None:
    import sys as _sys

    from phoenix.prefect_server import stop_server
    from phoenix.settings import load_settings

    if "prefect" in _sys.modules:
        # Ship the session's last logs and events before the server goes away.
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
    stop_server(load_settings())
    shutil.rmtree(SESSION_HOME, ignore_errors=True)


def git(folder: Path, *arguments: str) -> str:
    """Run git in `folder` as a fixed test identity, with nothing of the user's configuration."""
    done = subprocess.run(
        ["git", "-C", str(folder), *arguments], capture_output=True, text=True, check=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
             "PATH": "/usr/bin:/bin", "HOME": str(folder)},
    )  # fmt: skip
    return done.stdout.strip()


def make_git_repo(folder: Path, files: dict[str, str]) -> Path:
    """A repository holding `files` (path -> text), committed on branch main."""
    require_tool("git")
    folder.mkdir(parents=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "init")
    return folder


def require_tool(*names: str) -> None:
    """Skip the test when a program it needs is not installed, and say which.

    Under CI (`CI=true`) a missing tool fails the test instead: `.ci/run` installs every tool the
    suite needs, so a skip there would hide a missing install step.
    """
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    reason = f"needs {', '.join(missing)} on PATH (.ci/run installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def phoenix_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PHOENIX_HOME of the test's own: a fresh DuckDB file (the Prefect server is shared)."""
    home = tmp_path / "phoenix-home"
    monkeypatch.setenv("PHOENIX_HOME", str(home))
    return home


class ChatServer:
    """The scripted OpenAI-compatible server, controlled over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        reply = httpx.request(method, self.url + path, json=body, timeout=10)
        reply.raise_for_status()
        return reply.json()

    def control(self, **behaviour: Any) -> dict[str, Any]:
        return self._call("POST", "/control", behaviour)

    def reset(self) -> None:
        self._call("POST", "/reset", {})

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def requests(self) -> list[dict[str, Any]]:
        """What the server received since the last reset: each request's model and messages."""
        return self._call("GET", "/requests")


@pytest.fixture(scope="session")
def chat_server_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "phoenix.testing.chat_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("READY "), line
    yield f"http://127.0.0.1:{int(line.split()[1])}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def chat(chat_server_url: str, phoenix_home: Path, monkeypatch: pytest.MonkeyPatch) -> ChatServer:
    """A reset chat server, and Phoenix configured to use it through litellm's HTTP path."""
    server = ChatServer(chat_server_url)
    server.reset()
    monkeypatch.setenv("PHOENIX_LLM_MODEL", "openai/scripted")
    monkeypatch.setenv("PHOENIX_LLM_API_BASE", f"{chat_server_url}/v1")
    monkeypatch.setenv("PHOENIX_LLM_API_KEY", "sk-test-secret")
    monkeypatch.setenv("PHOENIX_ORCH_RETRY_DELAY", "0.01")
    monkeypatch.setenv("PHOENIX_LLM_TIMEOUT", "10")
    return server


@contextlib.contextmanager
def cli_environment(
    tmp_path_factory: pytest.TempPathFactory, chat_server_url: str, name: str, **extra: str
) -> Iterator[dict[str, str]]:
    """The environment of one test module's `phoenix` commands, its local service stopped after.

    A PHOENIX_HOME of the module's own, so its commands share one local Phoenix service; the
    scripted chat server as the model, with the key `sk-<name>-secret` that tests look for in
    output that must not hold it; `extra` variables on top.
    """
    from phoenix import daemon
    from phoenix.settings import load_settings

    home = tmp_path_factory.mktemp(f"{name}-home")
    environment = dict(os.environ) | {
        "PHOENIX_HOME": str(home),
        "PHOENIX_LLM_MODEL": "openai/scripted",
        "PHOENIX_LLM_API_BASE": f"{chat_server_url}/v1",
        "PHOENIX_LLM_API_KEY": f"sk-{name}-secret",
    }
    try:
        yield environment | extra
    finally:
        daemon.stop(load_settings({"PHOENIX_HOME": str(home)}))


def wait_for(condition: Any, timeout_s: float = 10.0, interval_s: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def in_process_api(token: str) -> Iterator[httpx.Client]:
    """The HTTP API on a loopback port, its flows run in this process (as `phoenix api` runs
    them), and a client that sends `token`."""
    import threading

    import uvicorn

    from phoenix.api.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(token), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=30)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ) as client:
        yield client
    server.should_exit = True
    thread.join(timeout=30)


def with_default_sigint() -> None:
    """`preexec_fn` of a child that a test sends Ctrl-C (SIGINT) to, as a terminal would.

    A command started in the background by a non-interactive shell (as CI may start the suite)
    inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the child would
    ignore the test's Ctrl-C, unlike a person's.  The child gets the default disposition back.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
