"""Beyond one machine: `prefect deploy --all` from prefect.yaml, two process workers with homes of
their own (two "machines"), Prefect's server and Phoenix's shared store both on one PostgreSQL —
and flows writing at once lose nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PHOENIX, wait_for
from tests.postgres_server import PostgresServer, fresh_database, postgres_server  # noqa: F401

PROJECT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))
RUNS = 12


def _environment(base: dict[str, str], home: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in base.items() if not k.startswith(("PREFECT_", "PHOENIX_"))}
    return environment | {"PHOENIX_HOME": str(home), "PREFECT_LOGGING_LEVEL": "INFO"} | extra


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,  # noqa: F811
) -> Iterator[dict[str, Any]]:
    """A Prefect server on PostgreSQL with prefect.yaml deployed, and two workers."""
    import os

    root = tmp_path_factory.mktemp("cluster")
    shared = {
        "PHOENIX_STORE_URL": postgres_server.store_url(fresh_database(postgres_server)),
        "PHOENIX_STORE_DATA_PATH": str(root / "shared-lake"),
        "PREFECT_API_DATABASE_CONNECTION_URL": "postgresql+asyncpg://phoenix@127.0.0.1:"
        f"{postgres_server.port}/{fresh_database(postgres_server, 'prefect')}",
    }
    server_env = _environment(dict(os.environ), root / "server-home", **shared)
    started = subprocess.run(
        [PHOENIX, "--json", "server", "start"], env=server_env, capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr
    api_url = json.loads(started.stdout)["prefect_api_url"]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        client_env = server_env | {"PREFECT_API_URL": api_url}
        for command in (
            [PREFECT, "--no-prompt", "work-pool", "create", "phoenix", "--type", "process"],
            [PREFECT, "--no-prompt", "deploy", "--all"],
        ):
            done = subprocess.run(command, env=client_env, cwd=PROJECT, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr
        logs = []
        for machine in ("a", "b"):
            log = root / f"worker-{machine}.log"
            env = _environment(dict(os.environ), root / f"home-{machine}", **shared)
            env["PREFECT_API_URL"] = api_url
            with log.open("wb") as output:
                workers.append(
                    subprocess.Popen(
                        [
                            PREFECT,
                            "worker",
                            "start",
                            "--pool",
                            "phoenix",
                            "--name",
                            f"worker-{machine}",
                            "--limit",
                            "4",
                            "--prefetch-seconds",
                            "1",
                        ],
                        env=env,
                        cwd=PROJECT,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )  # fmt: skip
                )
            logs.append(log)
        yield {"api_url": api_url, "client_env": client_env, "logs": logs, "shared": shared}
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        subprocess.run([PHOENIX, "server", "stop"], env=server_env, capture_output=True)


def test_two_workers_write_to_the_shared_store_at_once_and_nothing_is_lost(
    cluster: dict[str, Any], tmp_path: Path
) -> None:
    api = httpx.Client(base_url=cluster["api_url"], timeout=30)
    deployment = api.get("/deployments/name/memory/phoenix").raise_for_status().json()
    assert deployment["work_pool_name"] == "phoenix"
    run_ids = [
        api.post(
            f"/deployments/{deployment['id']}/create_flow_run",
            json={"parameters": {"action": "store", "key": f"fact/{i}", "value": f"value {i}"}},
        ).raise_for_status().json()["id"]
        for i in range(RUNS)
    ]  # fmt: skip

    def all_final() -> list[dict[str, Any]] | None:
        runs = [api.get(f"/flow_runs/{run_id}").json() for run_id in run_ids]
        final = [r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
        return runs if len(final) == RUNS else None

    try:
        runs = wait_for(all_final, timeout_s=300, interval_s=1)
    except AssertionError:
        raise AssertionError("\n".join(log.read_text()[-3000:] for log in cluster["logs"])) from None
    assert [r["state_type"] for r in runs] == ["COMPLETED"] * RUNS, [r["state"] for r in runs]

    # Both machines took runs.
    for log in cluster["logs"]:
        taken = sum(run_id in log.read_text() for run_id in run_ids)
        assert taken > 0, f"{log.name} ran none of the runs:\n{log.read_text()[-2000:]}"

    # A third machine, a home of its own, reads every value from the shared store.
    reader = _environment(dict(cluster["client_env"]), tmp_path / "home-c", **cluster["shared"])
    reader["PREFECT_API_URL"] = cluster["api_url"]
    reader["PHOENIX_CLI_IN_PROCESS"] = "1"  # no local service left running in that home
    found = subprocess.run(
        [PHOENIX, "--json", "memory", "search", "fact/", "--limit", "100"],
        env=reader, capture_output=True, text=True,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    items = {item["key"]: item["value"] for item in json.loads(found.stdout)["items"]}
    assert items == {f"fact/{i}": f"value {i}" for i in range(RUNS)}
