"""`phoenix` without `--json`, as a person reads it: fields, tables, sentences — never JSON, never
a traceback, and failures on stderr with what a person needs (an exit code, the end of stderr)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PHOENIX, ChatServer, cli_environment, make_git_repo, require_tool, wait_for


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[dict[str, str]]:
    with cli_environment(
        tmp_path_factory,
        chat_server_url,
        "human",
        PHOENIX_ORCH_RETRY_DELAY="0.01",
        COLUMNS="160",  # rich's width when stdout is not a terminal
    ) as environment:
        yield environment


def human(env: dict[str, str], *arguments: str, status: int = 0) -> tuple[str, str]:
    """Run `phoenix ...` for people; check the exit status and that nothing is machine output."""
    done = subprocess.run([PHOENIX, *arguments], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
    for text in (done.stdout, done.stderr):
        assert "Traceback" not in text
        assert not _is_json(text), text
        assert '{"' not in text and "sk-human-secret" not in text
    return done.stdout, done.stderr


def _is_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict | list)
    except ValueError:
        return False


def machine(env: dict[str, str], *arguments: str) -> Any:
    done = subprocess.run(
        [PHOENIX, "--json", *arguments], env=env, capture_output=True, text=True, timeout=300
    )
    return json.loads(done.stdout)


def test_help_and_status_read_as_text_and_fields(env: dict[str, str]) -> None:
    out, _ = human(env, "command", "help")
    assert out.startswith("Phoenix commands:") and "memory vector-search {query}" in out
    out, _ = human(env, "command", "status")
    lines = out.splitlines()
    assert lines[0].startswith("Phoenix ")
    fields = dict(line.strip().split(":", 1) for line in lines[1:] if ":" in line)
    assert fields["Model"].strip().startswith("openai/scripted")
    assert {"Memories", "Propose runs", "Database", "Capabilities"} <= set(fields)  # all available
    assert "system" in fields["Capabilities"] and "spawn" in fields["Capabilities"]


def test_memory_commands_read_as_sentences_and_tables(env: dict[str, str]) -> None:
    assert human(env, "memory", "store", "human/colour", "Deep Blue")[0] == "Stored 'human/colour'.\n"
    assert human(env, "memory", "get", "human/colour")[0] == "Deep Blue\n"
    out, _ = human(env, "memory", "search", "deep")
    header, columns, row = out.splitlines()[:3]
    assert header == "Showing 1 memory matching 'deep'"
    assert columns.split() == ["KEY", "VALUE"] and row.split() == ["human/colour", "Deep", "Blue"]
    out, _ = human(env, "command", "memory search deep")  # the router's envelope, read the same way
    assert out.splitlines()[0] == "Showing 1 memory matching 'deep'"
    out, _ = human(env, "memory", "search", "nothing-like-this")
    assert out.startswith("No memories matching 'nothing-like-this'.")
    assert "phoenix memory store KEY VALUE" in out
    assert human(env, "memory", "delete", "human/colour")[0].startswith("Deleted 'human/colour'")
    out, err = human(env, "memory", "get", "human/colour", status=1)
    assert out == "" and err.startswith("error: No memory under the key 'human/colour'")
    out, err = human(env, "memory", status=2)
    assert out == "" and err.startswith("error: ")


def test_propose_is_a_table_of_proposals(env: dict[str, str], chat_server_url: str) -> None:
    ChatServer(chat_server_url).reset()
    out, _ = human(env, "propose", "a kanban board", "-n", "3")
    lines = out.splitlines()
    assert lines[0].startswith("3 of 3 ORCHs proposed an improvement for 'a kanban board' (run ")
    # The ranked ideas first, then every proposal, then what the run cost.
    assert "idea" in lines[1] and lines[2].split()[:3] == ["RANK", "ORCHS", "IDEA"]
    table = next(i for i, line in enumerate(lines) if line.split()[:3] == ["#", "ANGLE", "PROPOSAL"])
    numbers = [line.split()[0] for line in lines[table + 1 :] if line[:1].isdigit()]  # long ones wrap
    assert numbers == ["1", "2", "3"]
    assert lines[-1].startswith("Tokens: ") and lines[-1].endswith("cost unknown")
    out, _ = human(env, "command", "propose 2 improvements for a blog")
    assert out.startswith("2 of 2 ORCHs proposed an improvement for 'a blog'")


def test_a_conversation_turn_prints_the_answer(env: dict[str, str], chat_server_url: str) -> None:
    ChatServer(chat_server_url).control(replies=["Call the cat Phoenix."])
    assert human(env, "command", "a name for a cat?")[0] == "Call the cat Phoenix.\n"


MAKEFILE = (
    "build:\n\t@echo compiled\n"
    "check:\n\t@echo all fine\n"
    "fail:\n\t@echo partial output; echo 'first problem' >&2; echo 'last problem' >&2; exit 3\n"
    "serve:\n\t@echo serving on $$PORT; exec sleep 600\n"
)


def test_the_ecosystem_for_people(env: dict[str, str], tmp_path: Path) -> None:
    require_tool("git", "make")
    out, _ = human(env, "ecosystem", "list")
    assert out == "No repositories imported yet. Try `phoenix ecosystem import URL`.\n"

    repo = make_git_repo(tmp_path / "tool", {"Makefile": MAKEFILE})
    out, _ = human(env, "ecosystem", "import", str(repo))
    assert out.startswith("Imported:\ntool (")
    repo_id = out.splitlines()[1].split("(")[1].rstrip(")")
    assert "  Build system:" in out and "make" in out and "NotBuilt" in out
    assert f"Next: `phoenix ecosystem build {repo_id}`." in out

    out, _ = human(env, "ecosystem", "list")
    lines = out.splitlines()
    assert lines[0] == "Showing 1 repository"
    assert lines[1].split()[:3] == ["ID", "NAME", "BUILD"]
    assert lines[2].split()[:2] == [repo_id, "tool"]

    out, _ = human(env, "ecosystem", "show", repo_id)
    assert "make:check" in out and "make:fail" in out and f"tool ({repo_id})" in out
    assert human(env, "ecosystem", "status", repo_id)[0] == out

    out, _ = human(env, "ecosystem", "build", repo_id)
    assert out.startswith("Built:") and "Build:" in out and "Built" in out

    out, err = human(env, "ecosystem", "run", repo_id, "check")
    assert out == "all fine\n" and "make:check exited with 0" in err

    out, err = human(env, "ecosystem", "run", repo_id, "fail", status=1)
    assert out == "partial output\n"
    assert "first problem\nlast problem" in err and "2" in err.splitlines()[-1]  # make: 2
    assert err.splitlines()[-1].startswith("error: ")
    out, err = human(env, "command", f"ecosystem {repo_id} fail", status=1)
    assert "partial output" in out and "last problem" in err
    assert err.splitlines()[-1].startswith("error:")

    out, _ = human(env, "ecosystem", "logs", repo_id)
    assert out.startswith(f"The service of {repo_id} has written nothing yet")
    out, _ = human(env, "ecosystem", "start", repo_id, "serve")
    assert out.startswith("Started:") and "Running (pid" in out
    wait_for(lambda: "serving on" in machine(env, "ecosystem", "logs", repo_id)["log"], 30)
    assert "\nserving on " in human(env, "ecosystem", "logs", repo_id)[0]
    out, _ = human(env, "ecosystem", "stop", repo_id)
    assert out.startswith("Stopped:") and "Service:" in out

    out, _ = human(env, "ecosystem", "env", repo_id)
    assert out.startswith(f"No variables set for {repo_id}.")
    out, _ = human(env, "ecosystem", "env", repo_id, "GREETING=hello")
    assert out.splitlines()[0].startswith("Showing 1 variable") and "GREETING" in out
    assert "hello" not in out

    out, _ = human(env, "ecosystem", "remove", repo_id)
    assert out.startswith(f"Removed tool ({repo_id})")
    _, err = human(env, "ecosystem", "show", repo_id, status=1)
    assert err.startswith("error: ")


def test_a_failed_build_shows_the_end_of_its_log(env: dict[str, str], tmp_path: Path) -> None:
    require_tool("git", "make")
    repo = make_git_repo(
        tmp_path / "broken", {"Makefile": "build:\n\t@echo step one; echo 'no compiler' >&2; exit 2\n"}
    )
    record = machine(env, "ecosystem", "import", str(repo))
    try:
        out, err = human(env, "ecosystem", "build", record["id"], status=1)
        assert "BuildFailed" in out
        assert "The build log ends with:" in err and "no compiler" in err
        assert err.splitlines()[-1].startswith("error: ")
    finally:
        machine(env, "ecosystem", "remove", record["id"])


def test_server_status_and_stop_read_as_fields(env: dict[str, str]) -> None:
    human(env, "command", "help")  # the service runs
    out, _ = human(env, "server", "status")
    fields = dict(line.strip().split(":", 1) for line in out.splitlines())
    assert fields["Phoenix service"].strip().startswith("http://127.0.0.1:")
    assert fields["Prefect API"].strip().startswith("http://127.0.0.1:")
    assert "Prefect UI" in fields
    out, _ = human(env, "server", "stop")
    assert out.startswith("Stopped the local Phoenix service")
    out, _ = human(env, "server", "status")
    assert "not running" in out.splitlines()[0]
