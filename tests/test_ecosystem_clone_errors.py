"""A clone that fails over the network says git's own reason, with the right error and status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from git import GitCommandError

from flows import run_flow
from phoenix.errors import NotFound, http_status_for
from phoenix.managed_server import free_port
from tasks.git import RemoteUnreachable, git_reason
from tests.conftest import require_tool


@pytest.fixture
def answering(request: pytest.FixtureRequest) -> Iterator[str]:
    """An HTTP server that answers every request with the status the test is parametrised with."""
    status = request.param

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = b"the server says no\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/acme/x.git"
    server.shutdown()
    server.server_close()


def imported(url: str) -> dict:
    return run_flow("import-and-build-repo", {"source": url, "build": False})


def test_a_remote_nobody_listens_on_is_unreachable_with_gits_reason(phoenix_home: Path) -> None:
    require_tool("git")
    url = f"http://127.0.0.1:{free_port()}/x.git"
    with pytest.raises(RemoteUnreachable) as raised:
        imported(url)
    message = raised.value.message
    assert message.startswith(f"Cannot reach {url}: fatal: unable to access")
    assert "connect" in message.lower() and not message.endswith("'")
    assert http_status_for(raised.value.code) == 502 and raised.value.code == "remote_unreachable"
    assert not any((phoenix_home / "repos").glob(".incoming-*")), "a failed clone leaves nothing"


@pytest.mark.parametrize("answering", [500, 503], indirect=True)
def test_a_remote_answering_a_server_error_is_unreachable(phoenix_home: Path, answering: str) -> None:
    require_tool("git")
    with pytest.raises(RemoteUnreachable, match=r"The requested URL returned error: 50[03]"):
        imported(answering)


@pytest.mark.parametrize("answering", [404], indirect=True)
def test_a_remote_answering_404_is_not_found_with_gits_reason(
    phoenix_home: Path, answering: str
) -> None:
    require_tool("git")
    with pytest.raises(NotFound) as raised:
        imported(answering)
    assert raised.value.message.startswith(f"No git repository at {answering} (fatal: ")
    assert http_status_for(raised.value.code) == 404


def test_gits_reason_keeps_its_fatal_lines_and_masks_credentials() -> None:
    stderr = (
        "Cloning into '/tmp/x'...\n"
        "remote: Invalid username or password.\n"
        "fatal: Authentication failed for 'https://alice:s3cret@example.com/a.git/'\n"
        "fatal: and again with the token tok-123 in it\n"
    )
    error = GitCommandError(["git", "clone"], 128, stderr.encode())
    assert str(error.stderr).rstrip().endswith("'")  # GitPython's wrapper: the lone quote
    reason = git_reason(error, ["tok-123"])
    assert reason == (
        "remote: Invalid username or password. "
        "fatal: Authentication failed for 'https://***@example.com/a.git/' "
        "fatal: and again with the token *** in it"
    )
    assert git_reason(GitCommandError(["git"], 1, b""), []) == "git exited with 1"
