"""`phoenix ... --no-wait` and `phoenix runs show RUN_ID [--wait]`, as a user runs them.

The commands submit to the deployments that a real `phoenix serve` (a subprocess, stopped with
Ctrl-C when the module ends) serves on the session's Prefect server, and read the run back through
Prefect: no HTTP API in between.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PHOENIX, ChatServer, make_git_repo, require_tool
from tests.test_async_api import serving


@pytest.fixture(scope="module")
def served_env(
    tmp_path_factory: pytest.TempPathFactory, chat_server_url: str
) -> Iterator[dict[str, str]]:
    with serving(tmp_path_factory, chat_server_url, "nowait") as env:
        yield env


def phoenix(env: dict[str, str], *arguments: str, as_json: bool = True) -> tuple[int, Any, str]:
    """Run `phoenix [--json] ...`: (exit status, the JSON document or the text, stderr)."""
    done = subprocess.run(
        [PHOENIX, *(["--json"] if as_json else []), *arguments],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout) if as_json else done.stdout, done.stderr


def test_propose_no_wait_then_runs_show_wait_gives_the_result(
    served_env: dict[str, str], chat_server_url: str
) -> None:
    ChatServer(chat_server_url).reset()
    code, submitted, stderr = phoenix(served_env, "propose", "a sundial", "-n", "2", "--no-wait")
    assert code == 0, stderr
    assert set(submitted) >= {"run_id", "ui_url"} and "status_url" not in submitted
    assert submitted["ui_url"].endswith(f"/runs/flow-run/{submitted['run_id']}")

    code, document, stderr = phoenix(served_env, "runs", "show", submitted["run_id"], "--wait")
    assert code == 0, stderr
    assert document["finished"] is True and document["state_type"] == "COMPLETED"
    assert document["flow"] == "propose-improvements"
    assert document["result"]["run_id"] == submitted["run_id"]
    assert document["result"]["succeeded"] == 2 and document["result"]["seed"] == "a sundial"

    code, again, _ = phoenix(served_env, "runs", "show", submitted["run_id"])
    assert code == 0 and again == document, "a finished run reads the same without --wait"


def test_human_output_says_how_to_follow_and_then_shows_the_result(
    served_env: dict[str, str], chat_server_url: str
) -> None:
    ChatServer(chat_server_url).reset()
    code, text, stderr = phoenix(
        served_env, "propose", "a lighthouse", "-n", "2", "--no-wait", as_json=False
    )
    assert code == 0, stderr
    found = re.search(r"\(([0-9a-f-]{36})\)", text)
    assert found is not None, text
    run_id = found.group(1)
    assert f"phoenix runs show {run_id} --wait" in text and f"/runs/flow-run/{run_id}" in text
    assert text.startswith("Started the propose-improvements run ") and "{" not in text

    code, text, stderr = phoenix(served_env, "runs", "show", run_id, "--wait", as_json=False)
    assert code == 0, stderr
    assert "2 of 2 ORCHs proposed an improvement for 'a lighthouse'" in text
    assert "{" not in text and "Traceback" not in stderr


def test_a_run_whose_operation_failed_exits_1(served_env: dict[str, str], chat_server_url: str) -> None:
    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(failure_rate=1.0, failure_status=400)
    try:
        code, submitted, stderr = phoenix(served_env, "propose", "a kettle", "-n", "2", "--no-wait")
        assert code == 0, stderr
        code, document, _ = phoenix(served_env, "runs", "show", submitted["run_id"], "--wait")
        assert code == 1
        assert document["result"]["type"] == "error" and document["result"]["succeeded"] == 0
        code, text, stderr = phoenix(served_env, "runs", "show", submitted["run_id"], as_json=False)
        assert code == 1 and "error: No ORCH proposed anything" in stderr
    finally:
        chat.reset()


def test_import_and_build_no_wait_of_a_local_folder(served_env: dict[str, str], tmp_path: Path) -> None:
    require_tool("git", "make")
    folder = make_git_repo(tmp_path / "abacus", {"Makefile": "build:\n\techo built-ok\n"})
    code, submitted, stderr = phoenix(served_env, "ecosystem", "import", str(folder), "--no-wait")
    assert code == 0, stderr
    code, document, stderr = phoenix(served_env, "runs", "show", submitted["run_id"], "--wait")
    assert code == 0, stderr
    record = document["result"]
    assert document["flow"] == "import-and-build-repo" and record["build_status"] == "NotBuilt"

    code, submitted, stderr = phoenix(served_env, "ecosystem", "build", record["id"], "--no-wait")
    assert code == 0, stderr
    code, text, stderr = phoenix(
        served_env, "runs", "show", submitted["run_id"], "--wait", as_json=False
    )
    assert code == 0, stderr
    assert f"abacus ({record['id']})" in text and "Built" in text
    code, shown, _ = phoenix(served_env, "ecosystem", "show", record["id"])
    assert shown["build_status"] == "Built"

    code, submitted, stderr = phoenix(
        served_env, "ecosystem", "import", str(folder), "--build", "--no-wait"
    )
    assert code == 0, stderr
    code, document, _ = phoenix(served_env, "runs", "show", submitted["run_id"], "--wait")
    assert code == 0 and document["result"]["build_status"] == "Built"


@pytest.mark.parametrize(
    ("arguments", "status"),
    [
        (("runs", "show", "not-a-run-id"), 2),
        (("runs", "show"), 2),
        (("runs", "show", str(uuid.uuid4())), 1),
        (("propose", "x", "--no-wait", "--task-runner", "dask"), 2),
        (("propose", "x", "-n", "0", "--no-wait"), 2),
        (("ecosystem", "import", "https://s3cr3t-tok@127.0.0.1:9/a/b.git", "--no-wait"), 2),
        (("ecosystem", "build", "0000000000", "--no-wait"), 1),
        (("ecosystem", "build", "../etc", "--no-wait"), 1),
    ],
)
def test_usage_errors_exit_2_and_unknown_things_1(
    served_env: dict[str, str], arguments: tuple[str, ...], status: int
) -> None:
    code, reply, _ = phoenix(served_env, *arguments)
    assert code == status, reply
    assert reply["type"] == "error" and reply["message"] and "s3cr3t-tok" not in reply["message"]
