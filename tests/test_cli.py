"""`phoenix` as a user runs it: separate processes, one JSON document, the documented exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import PHOENIX, ChatServer, cli_environment, make_git_repo, require_tool


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[dict[str, str]]:
    """One PHOENIX_HOME for the module, so every command reuses one local Phoenix service."""
    with cli_environment(
        tmp_path_factory, chat_server_url, "cli", PHOENIX_ORCH_RETRY_DELAY="0.01"
    ) as env:
        yield env


def phoenix(env: dict[str, str], *arguments: str) -> tuple[int, Any, str]:
    """Run `phoenix --json ...`; stdout must be exactly one JSON document."""
    done = subprocess.run(
        [PHOENIX, "--json", *arguments], env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def test_help_prints_the_router_envelope(cli_env: dict[str, str]) -> None:
    code, reply, _ = phoenix(cli_env, "command", "help")
    assert code == 0
    assert reply["type"] == "help" and "propose [N] improvements" in reply["message"]


def service_record(env: dict[str, str]) -> dict[str, Any]:
    return json.loads((Path(env["PHOENIX_HOME"]) / "run" / "phoenix-api.json").read_text())


def test_the_local_service_is_started_once_and_reused(cli_env: dict[str, str]) -> None:
    phoenix(cli_env, "command", "help")
    record = service_record(cli_env)
    code, status, stderr = phoenix(cli_env, "command", "status")
    assert code == 0
    assert "starting" not in stderr
    # The service answered, not an in-process fallback: the flow ran in the recorded process.
    assert status["pid"] == record["pid"] and service_record(cli_env) == record
    assert record["url"].startswith("http://127.0.0.1:")
    assert "sk-cli-secret" not in json.dumps(record)
    in_process = cli_env | {"PHOENIX_CLI_IN_PROCESS": "1"}
    assert phoenix(in_process, "command", "status")[1]["pid"] != record["pid"]


def test_the_service_gets_only_the_environment_it_needs(cli_env: dict[str, str]) -> None:
    """`MAKELEVEL` from `make demo`, or any stray variable, never reaches the service (or what it
    runs); another value of such a variable does not make a command fall back to in-process."""
    leaky = cli_env | {"MAKELEVEL": "1", "MAKEFLAGS": "w", "SOME_STRAY_VARIABLE": "x"}
    code, status, stderr = phoenix(leaky, "command", "status")
    assert code == 0 and "differs" not in stderr
    record = service_record(cli_env)
    assert status["pid"] == record["pid"]
    environment = psutil.Process(record["pid"]).environ()
    assert not {"MAKELEVEL", "MAKEFLAGS", "SOME_STRAY_VARIABLE"} & set(environment)
    assert environment["PHOENIX_LLM_MODEL"] == "openai/scripted"
    assert environment["PHOENIX_HOME"] == cli_env["PHOENIX_HOME"]
    assert environment["HOME"] == cli_env["HOME"]
    code, status, stderr = phoenix(leaky | {"SOME_STRAY_VARIABLE": "y"}, "command", "status")
    assert code == 0 and status["pid"] == record["pid"] and "differs" not in stderr


def test_a_command_whose_phoenix_settings_differ_runs_in_its_own_process(
    cli_env: dict[str, str],
) -> None:
    code, status, stderr = phoenix(cli_env | {"PHOENIX_LLM_MAX_TOKENS": "17"}, "command", "status")
    assert code == 0 and "differs" in stderr and "phoenix server stop" in stderr
    assert status["pid"] != service_record(cli_env)["pid"]


def test_commands_work_from_a_folder_that_holds_phoenix_packages(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The parent of a clone holds `phoenix/`: neither the command nor its service imports it."""
    for package in ("phoenix", "flows", "tasks", "blocks"):
        (tmp_path / "work" / package).mkdir(parents=True)
        (tmp_path / "work" / package / "__init__.py").write_text("raise ImportError('shadowed')\n")
    env = cli_env | {"PHOENIX_HOME": str(tmp_path / "home")}
    try:
        done = subprocess.run(
            [PHOENIX, "--json", "memory", "store", "shadow", "free"],
            cwd=tmp_path / "work", env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "starting the local Phoenix service" in done.stderr
        status = json.loads(
            subprocess.run(
                [PHOENIX, "--json", "command", "status"],
                cwd=tmp_path / "work", env=env, capture_output=True, text=True, timeout=300,
            ).stdout
        )  # fmt: skip
        assert status["pid"] == service_record(env)["pid"] and status["memory_items"] == 1
        assert psutil.Process(status["pid"]).cwd() != str(tmp_path / "work")
    finally:
        from phoenix import daemon
        from phoenix.settings import load_settings

        daemon.stop(load_settings({"PHOENIX_HOME": env["PHOENIX_HOME"]}))


def test_a_hung_service_fails_the_command_quickly_and_says_what_to_do(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A service that accepts connections but never answers must not hang every command."""
    from phoenix import daemon

    hung = subprocess.Popen(
        [sys.executable, "-c", HUNG_SERVER], stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert hung.stdout is not None
        port = int(hung.stdout.readline())
        run = tmp_path / "home" / "run"
        run.mkdir(parents=True)
        record = {
            "pid": hung.pid, "port": port, "url": f"http://127.0.0.1:{port}", "started_at": 0,
            "labels": {"code": daemon.code_fingerprint(), "settings": "whatever"},
        }  # fmt: skip
        (run / "phoenix-api.json").write_text(json.dumps(record))
        env = cli_env | {"PHOENIX_HOME": str(tmp_path / "home")}
        started = time.monotonic()
        code, reply, _ = phoenix(env, "memory", "get", "k")
        assert code == 1 and "does not answer" in reply["message"]
        assert "phoenix server stop" in reply["message"]
        assert time.monotonic() - started < 60
        code, _, _ = phoenix(env, "server", "stop")
        assert code == 0 and hung.wait(timeout=30) is not None
    finally:
        from phoenix.settings import load_settings

        daemon.stop(load_settings({"PHOENIX_HOME": str(tmp_path / "home")}))
        if hung.poll() is None:
            hung.kill()
            hung.wait(timeout=10)


# Listens on a loopback port and never answers: connections queue in the backlog forever.
HUNG_SERVER = """
import socket, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
while True:
    time.sleep(3600)
"""


def test_memory_written_by_one_process_is_read_by_others(cli_env: dict[str, str]) -> None:
    assert phoenix(cli_env, "memory", "store", "cli/colour", "Deep Blue")[:2] == (
        0,
        {"key": "cli/colour", "value": "Deep Blue"},
    )
    assert phoenix(cli_env, "memory", "get", "cli/colour")[1] == {
        "key": "cli/colour",
        "value": "Deep Blue",
    }
    in_process = cli_env | {"PHOENIX_CLI_IN_PROCESS": "1"}
    assert phoenix(in_process, "memory", "get", "cli/colour")[1]["value"] == "Deep Blue"
    code, found, _ = phoenix(cli_env, "memory", "search", "deep", "--limit", "5")
    assert code == 0 and found == {"items": [{"key": "cli/colour", "value": "Deep Blue"}], "count": 1}
    assert phoenix(cli_env, "memory", "delete", "cli/colour")[0] == 0
    code, reply, _ = phoenix(cli_env, "memory", "get", "cli/colour")
    assert code == 1 and reply["code"] == "not_found"


@pytest.mark.parametrize(
    "arguments",
    [
        ("memory",),
        ("memory", "get", "   "),
        ("propose", "x", "-n", "0"),
        ("propose", "x", "-n", "many"),
        ("command", "ecosystem", "only-two"),
        ("command", "propose", "lots", "improvements", "for", "x"),
        ("no-such-command",),
    ],
)
def test_usage_errors_exit_2_with_a_json_error(
    cli_env: dict[str, str], arguments: tuple[str, ...]
) -> None:
    code, reply, _ = phoenix(cli_env, *arguments)
    assert code == 2
    assert reply["type"] == "error" and reply["message"]


def test_a_switched_off_capability_is_a_failed_operation(cli_env: dict[str, str]) -> None:
    code, reply, _ = phoenix(cli_env, "command", "system", "exec", "ls")
    assert code == 1 and reply["code"] == "system_commands_disabled"
    assert "PHOENIX_SYSTEM_COMMANDS" in reply["message"]


def test_propose_prints_the_documented_document(cli_env: dict[str, str], chat_server_url: str) -> None:
    ChatServer(chat_server_url).reset()
    code, run, _ = phoenix(cli_env, "propose", "a kanban board", "-n", "3")
    assert code == 0
    assert {"run_id", "seed", "n", "succeeded", "failed", "results"} <= set(run)
    assert (run["seed"], run["n"], run["succeeded"], run["failed"]) == ("a kanban board", 3, 3, 0)
    for index, item in enumerate(run["results"]):
        assert {"index", "proposal", "error", "attempts", "latency_s"} <= set(item)
        assert item["index"] == index and item["proposal"] and item["error"] is None


def test_without_json_people_get_text(cli_env: dict[str, str]) -> None:
    phoenix(cli_env, "memory", "store", "plain", "just text")
    done = subprocess.run(
        [PHOENIX, "memory", "get", "plain"], env=cli_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "just text"


def test_ecosystem_import_list_show_remove(cli_env: dict[str, str], tmp_path: Path) -> None:
    require_tool("git", "make")
    repo = make_git_repo(
        tmp_path / "tool", {"Makefile": "build:\n\techo ok\ncheck: build\n\techo fine\n"}
    )
    code, record, _ = phoenix(cli_env, "ecosystem", "import", str(repo))
    assert code == 0 and record["name"] == "tool" and record["build_system"] == "make"
    code, listed, _ = phoenix(cli_env, "ecosystem", "list")
    assert code == 0 and [item["id"] for item in listed["items"]] == [record["id"]]
    assert phoenix(cli_env, "ecosystem", "show", record["id"])[1]["commit"] == record["commit"]
    assert phoenix(cli_env, "ecosystem", "remove", record["id"])[0] == 0
    code, reply, _ = phoenix(cli_env, "ecosystem", "show", record["id"])
    assert code == 1 and reply["code"] == "not_found"
    assert phoenix(cli_env, "ecosystem", "import", str(tmp_path / "missing"))[0] == 2
