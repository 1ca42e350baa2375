"""The service-health flow: services reconciled with the OS, restart policies applied with limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from flows import run_flow
from flows.service_health import service_health
from phoenix.ecosystem.restart import decide, parse_policy
from phoenix.errors import UsageError
from tests.conftest import PHOENIX, make_git_repo, wait_for
from tests.test_artifacts import latest, table_rows
from tests.test_ecosystem_build import make_repo


def ecosystem(repo_id: str, command: str, *args: str) -> dict:
    return run_flow("ecosystem-command", {"command": command, "repo_id": repo_id, "args": list(args)})


def service_repo(folder: Path, procfile_line: str) -> dict:
    repo = make_repo(folder, {"Procfile": f"web: {procfile_line}\n"})
    return run_flow("import-and-build-repo", {"source": str(repo), "build": False})


def ended(repo_id: str) -> dict | None:
    status = ecosystem(repo_id, "status")
    return status if status["service_status"] == "Exited" else None


def health_of(repo_id: str) -> dict:
    report = service_health()
    return next(item for item in report["items"] if item["id"] == repo_id)


@pytest.mark.parametrize(
    ("policy", "limit", "so_far", "status", "code", "restart", "reason"),
    [
        ("never", None, 0, "Exited", 3, False, "restart policy is never"),
        (None, None, 0, "Exited", 3, False, "restart policy is never"),
        ("on-failure", None, 0, "Exited", 3, True, "exited (exit code 3); restart 1"),
        ("on-failure", 2, 1, "Exited", -9, True, "restart 2 of 2"),
        ("on-failure", 2, 2, "Exited", 3, False, "restart limit reached (2 of 2)"),
        ("on-failure", None, 0, "Exited", 0, False, "exited cleanly (0)"),
        ("on-failure", None, 0, "Exited", None, True, "no exit record"),
        ("on-failure", None, 0, "Stopped", 143, False, "stopped by hand"),
    ],
)
def test_the_restart_decision_follows_systemds_on_failure(
    policy: str | None, limit: int | None, so_far: int, status: str, code: int | None,
    restart: bool, reason: str,
) -> None:  # fmt: skip
    decision = decide(policy, limit, so_far, status, code)
    assert decision.restart is restart
    assert reason in decision.reason


def test_restart_policy_words_are_checked() -> None:
    assert parse_policy(["on-failure", "3"]) == ("on-failure", 3)
    assert parse_policy(["NEVER"]) == ("never", None)
    assert parse_policy(["on-failure"]) == ("on-failure", None)
    for words, message in [
        ([], "takes a policy"),
        (["always"], "Unknown restart policy"),
        (["on-failure", "0"], "at least 1"),
        (["on-failure", "-2"], "at least 1"),
        (["never", "3"], "only applies to on-failure"),
        (["on-failure", "3", "4"], "takes a policy"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_policy(words)


def test_a_crashing_service_is_restarted_up_to_its_limit(phoenix_home: Path, tmp_path: Path) -> None:
    record = service_repo(tmp_path / "crash", "python3 -c 'import sys; sys.exit(3)'")
    policy = ecosystem(record["id"], "restart-policy", "on-failure", "2")
    assert (policy["restart_policy"], policy["restart_limit"]) == ("on-failure", 2)
    ecosystem(record["id"], "start")

    for attempt in (1, 2):
        wait_for(lambda: ended(record["id"]), timeout_s=30)
        found = health_of(record["id"])
        assert found["restarted"] is True, found
        assert f"restart {attempt} of 2" in found["reason"]
        assert ecosystem(record["id"], "show")["restart_count"] == attempt

    wait_for(lambda: ended(record["id"]), timeout_s=30)
    found = health_of(record["id"])
    assert found["restarted"] is False and found["status"] == "Exited" and found["exit_code"] == 3
    assert found["reason"] == "restart limit reached (2 of 2)"
    shown = table_rows(latest("service-health"))  # what the UI's Artifacts page shows
    assert {row["id"]: row["reason"] for row in shown}[record["id"]] == "restart limit reached (2 of 2)"

    ecosystem(record["id"], "start")  # by hand: the policy gets its whole limit again
    assert ecosystem(record["id"], "show")["restart_count"] == 0


def test_a_killed_service_comes_back_and_a_clean_exit_or_never_stays_down(
    phoenix_home: Path, tmp_path: Path
) -> None:
    sleeper = service_repo(tmp_path / "sleeper", "python3 -c 'import time; time.sleep(120)'")
    ecosystem(sleeper["id"], "restart-policy", "on-failure")
    first = ecosystem(sleeper["id"], "start")
    assert health_of(sleeper["id"])["status"] == "Running"  # running: nothing to do
    os.kill(first["pid"], signal.SIGKILL)  # supervisor and all, as the OOM killer would
    wait_for(lambda: ended(sleeper["id"]), timeout_s=30)
    found = health_of(sleeper["id"])
    assert found["restarted"] is True and found["status"] == "Running", found
    assert found["pid"] != first["pid"] and found["port"] == first["port"]
    assert ecosystem(sleeper["id"], "status")["service_status"] == "Running"
    ecosystem(sleeper["id"], "stop")
    assert health_of(sleeper["id"])["reason"] == "stopped by hand"

    clean = service_repo(tmp_path / "clean", "python3 -c 'pass'")
    ecosystem(clean["id"], "restart-policy", "on-failure", "5")
    ecosystem(clean["id"], "start")
    wait_for(lambda: ended(clean["id"]), timeout_s=30)
    assert "exited cleanly" in health_of(clean["id"])["reason"]

    never = service_repo(tmp_path / "never", "python3 -c 'import sys; sys.exit(1)'")
    ecosystem(never["id"], "start")
    wait_for(lambda: ended(never["id"]), timeout_s=30)
    found = health_of(never["id"])
    assert found["restarted"] is False and found["reason"] == "restart policy is never"


def test_restart_policy_needs_a_known_policy(phoenix_home: Path, tmp_path: Path) -> None:
    record = service_repo(tmp_path / "web", "python3 -c 'pass'")
    with pytest.raises(UsageError, match="Unknown restart policy"):
        ecosystem(record["id"], "restart-policy", "sometimes")
    assert ecosystem(record["id"], "show")["restart_policy"] == "never"


def test_the_cli_sets_a_policy_and_checks_services_for_people(tmp_path: Path) -> None:
    env = dict(os.environ) | {"PHOENIX_HOME": str(tmp_path / "home"), "PHOENIX_CLI_IN_PROCESS": "1"}
    repo = make_git_repo(tmp_path / "crash", {"Procfile": "web: python3 -c 'import sys; sys.exit(4)'\n"})

    def phoenix(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PHOENIX, *words], env=env, capture_output=True, text=True, cwd=tmp_path)

    repo_id = json.loads(phoenix("--json", "ecosystem", "import", str(repo)).stdout)["id"]
    assert "No service has been started yet" in phoenix("ecosystem", "health").stdout
    told = phoenix("ecosystem", "restart-policy", repo_id, "on-failure", "1")
    assert told.returncode == 0 and "at most 1 times" in told.stdout, told.stderr
    bad = phoenix("ecosystem", "restart-policy", repo_id, "sometimes")
    assert bad.returncode == 2 and "invalid choice: 'sometimes'" in bad.stderr
    bad = phoenix("ecosystem", "restart-policy", repo_id, "on-failure", "many")
    assert bad.returncode == 2 and "whole number" in bad.stderr
    phoenix("ecosystem", "start", repo_id)
    wait_for(lambda: "Exited" in phoenix("ecosystem", "status", repo_id).stdout, timeout_s=30)
    checked = phoenix("ecosystem", "health")
    assert checked.returncode == 0, checked.stderr
    assert "Checked 1 service: 1 running, 1 restarted" in checked.stdout
    assert "restart 1 of 1" in " ".join(checked.stdout.split())
