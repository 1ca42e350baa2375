"""Repositories run as supervised services through the flows, the router and the CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from flows import run_flow
from phoenix.errors import Conflict, NotFound
from tests.conftest import require_tool, wait_for
from tests.test_ecosystem_build import make_repo

SERVER_JS = """
const http = require('http');
http.createServer((req, res) => res.end('hello from ' + process.env.PORT))
    .listen(Number(process.env.PORT), '127.0.0.1');
"""


def ecosystem(repo_id: str, command: str, *args: str) -> dict:
    return run_flow("ecosystem-command", {"command": command, "repo_id": repo_id, "args": list(args)})


def answer(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
            return response.read().decode()
    except OSError:
        return None


def imported(repo: Path) -> dict:
    return run_flow("import-and-build-repo", {"source": str(repo), "build": False})


@pytest.fixture
def web_repo(phoenix_home: Path, tmp_path: Path) -> dict:
    require_tool("node", "npm")
    repo = make_repo(tmp_path / "web", {
        "package.json": json.dumps({"name": "web", "scripts": {"start": "node server.js"}}),
        "server.js": SERVER_JS,
    })  # fmt: skip
    record = imported(repo)
    yield record
    with contextlib.suppress(NotFound):  # a test may have removed it
        ecosystem(record["id"], "stop")


def test_an_npm_service_serves_on_its_port_and_stops(web_repo: dict) -> None:
    started = ecosystem(web_repo["id"], "start")
    assert started["service_status"] == "Running" and started["pid"] and started["port"]
    port = started["port"]
    assert wait_for(lambda: answer(port), timeout_s=30) == f"hello from {port}"
    with pytest.raises(Conflict, match="already running"):
        ecosystem(web_repo["id"], "start")
    stopped = ecosystem(web_repo["id"], "stop")
    assert stopped["service_status"] == "Stopped"
    assert answer(port) is None
    with pytest.raises(ProcessLookupError):
        os.kill(started["pid"], 0)


def test_a_crashing_service_shows_exited_with_its_code(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "crash", {"Procfile": "web: python3 -c 'import sys; sys.exit(3)'\n"})
    record = imported(repo)
    ecosystem(record["id"], "start")

    def exited() -> dict | None:
        status = ecosystem(record["id"], "status")
        return status if status["service_status"] == "Exited" else None

    status = wait_for(exited, timeout_s=20)
    assert status["exit_code"] == 3


def test_a_service_outlives_the_phoenix_process_that_started_it(web_repo: dict) -> None:
    """Start from a `phoenix` process that exits; read and kill from this one."""
    env = dict(os.environ, PHOENIX_CLI_IN_PROCESS="1")
    phoenix = str(Path(sys.executable).with_name("phoenix"))
    done = subprocess.run([phoenix, "--json", "ecosystem", "start", web_repo["id"]], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)
    assert wait_for(lambda: answer(started["port"]), timeout_s=30)
    assert ecosystem(web_repo["id"], "status")["service_status"] == "Running"
    os.killpg(started["pid"], signal.SIGKILL)
    wait_for(lambda: ecosystem(web_repo["id"], "status")["service_status"] == "Exited", 20)


def test_logs_and_remove_stop_the_service_first(web_repo: dict) -> None:
    started = ecosystem(web_repo["id"], "start")
    assert wait_for(lambda: answer(started["port"]), timeout_s=30)
    reply = run_flow("router", {"command": f"ecosystem {web_repo['id']} logs"})
    assert reply["type"] == "ecosystem" and "log" in reply
    ecosystem(web_repo["id"], "remove")
    assert answer(started["port"]) is None
    with pytest.raises(ProcessLookupError):
        os.kill(started["pid"], 0)


def test_reimporting_a_running_repository_is_a_conflict(web_repo: dict, tmp_path: Path) -> None:
    started = ecosystem(web_repo["id"], "start")
    assert wait_for(lambda: answer(started["port"]), timeout_s=30)
    source = web_repo["url"]
    with pytest.raises(Conflict, match="stop it before importing it again"):
        run_flow("import-and-build-repo", {"source": source, "build": False})
    assert answer(started["port"]), "the running service was left alone"
    staged = [p.name for p in Path(web_repo["local_path"]).parent.iterdir() if p.name.startswith(".")]
    assert staged == []
    ecosystem(web_repo["id"], "stop")
    assert run_flow("import-and-build-repo", {"source": source, "build": False})["id"] == web_repo["id"]


LEAVES_CHILDREN = """
import subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
kept = subprocess.Popen(sleeper)
escaped = subprocess.Popen(sleeper, start_new_session=True)
open("children.txt", "w").write(f"{kept.pid} {escaped.pid}")
sys.exit(int(sys.argv[1]))
"""


@pytest.mark.parametrize("code", [0, 9])
def test_when_a_service_ends_by_itself_nothing_it_started_keeps_running(
    phoenix_home: Path, tmp_path: Path, code: int
) -> None:
    """A normal exit (0) and a crash (9) alike: its children, in its group or not, end with it."""
    repo = make_repo(tmp_path / f"leaver{code}", {
        "Procfile": f"web: python3 leave_children.py {code}\n", "leave_children.py": LEAVES_CHILDREN,
    })  # fmt: skip
    record = imported(repo)
    ecosystem(record["id"], "start")
    listing = Path(record["local_path"]) / "children.txt"
    children = [int(pid) for pid in wait_for(lambda: listing.exists() and listing.read_text()).split()]

    def ended() -> dict | None:
        status = ecosystem(record["id"], "status")
        return status if status["service_status"] != "Running" else None

    status = wait_for(ended, timeout_s=20)
    assert (status["service_status"], status["exit_code"]) == ("Exited", code)
    for pid in children:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
