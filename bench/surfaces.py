"""Benchmark: the Prefect surfaces people use, each against a baseline measured in the same run.

    deployment   a `POST` to Prefect's REST API creating a run of `memory/phoenix` on a warm
                 `phoenix serve` (polling every second), timed until the run is COMPLETED; against
                 the same flow run in this process (`flows.run_flow`): what serving costs on top.
    memory get   the router's synchronous `memory get` through Phoenix's HTTP API (`POST
                 /api/command`), p50 and p99 over R calls; against the same router run in this
                 process (no HTTP) and the bare DuckDB read the flows end in (no Prefect).
                 Issue 8's target: p50 ≤ 25 ms.
    write load   8 processes storing keys at once, on the DuckDB file store and on the shared
                 DuckLake store (catalog in a PostgreSQL started for the bench): writes/s and the
                 ratio shared/file.
    server DB    the Prefect server's CPU per ORCH of a propose run (N = 256, L = 0; bench/propose.py
                 in a process of its own) on its default SQLite and on PostgreSQL, the database of
                 the multi-machine setup.

A fresh PHOENIX_HOME with its own Prefect server (started before any timing); every call's answer
is checked, so a failure is never timed as a success.

    python bench/surfaces.py [--calls 500] [--deployment-runs 10] [--skip-store] [--skip-server-db]
                             [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

P50_TARGET_MS = 25.0
"""The router's `memory get` through the HTTP API: at most this median."""
TOKEN = "bench-token"
PHOENIX = str(Path(sys.executable).with_name("phoenix"))


def log(message: str) -> None:
    print(f"[surfaces] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(call: Callable[[], Any], times: int) -> list[float]:
    """Milliseconds of each of `times` calls of `call`."""
    walls = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        walls.append((time.perf_counter() - start) * 1000)
    return walls


def summary(walls: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(walls), "p99_ms": percentile(walls, 0.99), "n": len(walls)}


def start(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} not ready within {timeout_s:.0f} s")
        time.sleep(0.2)


def answers(url: str, headers: dict[str, str] | None = None) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def deployment_latency(api_url: str, runs: int) -> list[float]:
    """POST → COMPLETED of `memory/phoenix` runs on a warm `phoenix serve`, one at a time."""
    prefect = httpx.Client(base_url=api_url, timeout=30)

    def served() -> bool:
        reply = prefect.get("/deployments/name/memory/phoenix")
        return reply.status_code == 200 and reply.json()["status"] == "READY"

    wait_until(served, 180, "phoenix serve")
    deployment_id = prefect.get("/deployments/name/memory/phoenix").json()["id"]
    walls = []
    for index in range(runs + 1):  # the first run warms the runner; not counted
        started = time.perf_counter()
        run = prefect.post(
            f"/deployments/{deployment_id}/create_flow_run",
            json={"parameters": {"action": "get", "key": "bench"}},
        ).json()
        while True:
            state = prefect.get(f"/flow_runs/{run['id']}").json()["state_type"]
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            time.sleep(0.02)
        if state != "COMPLETED":
            raise SystemExit(f"bench: deployment run ended {state}")
        if index:
            walls.append((time.perf_counter() - started) * 1000)
    return walls


def memory_get_latency(api: httpx.Client, calls: int) -> dict[str, dict[str, float]]:
    from flows import run_flow
    from phoenix.store import open_store
    from phoenix.store.memory import get_value

    def over_http() -> None:
        reply = api.post("/api/command", json={"command": "memory get bench"})
        if reply.status_code != 200 or reply.json().get("value") != "ready":
            raise SystemExit(f"bench: memory get answered {reply.status_code} {reply.text[:200]}")

    def in_process() -> None:
        if run_flow("router", {"command": "memory get bench"}).get("value") != "ready":
            raise SystemExit("bench: the in-process router did not recall the value")

    store = open_store()
    floor = empty_flow()
    timed(over_http, 20)  # warm-up
    timed(in_process, 5)
    timed(floor, 5)
    return {
        "http_api": summary(timed(over_http, calls)),
        "in_process": summary(timed(in_process, max(20, calls // 10))),
        "empty_flow_run": summary(timed(floor, max(20, calls // 10))),
        "duckdb_only": summary(timed(lambda: get_value(store, "bench"), max(20, calls // 10))),
    }


def empty_flow() -> Callable[[], None]:
    """Prefect's floor: a flow run that does nothing, as the shell runs one (no heartbeat thread)."""
    from prefect import flow

    from flows import reused_prefect_client, without_heartbeats

    @flow(name="bench-empty", persist_result=False)
    def nothing() -> None:
        return None

    def run() -> None:
        with without_heartbeats(), reused_prefect_client():
            nothing()

    return run


def write_load() -> dict[str, Any]:
    from bench.store_load import compare_stores

    return compare_stores()


def server_cpu_per_orch(database: str) -> dict[str, Any]:
    """bench/propose.py at N = 256, L = 0 with the Prefect server on `database`."""
    child = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("propose.py")), "--sizes", "256",
         "--latencies", "0", "--repeats", "1", "--json", "--prefect-database", database],
        stdout=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    if child.returncode not in (0, 1):  # 1: a target of that bench missed, the figures stand
        raise SystemExit(f"bench: bench/propose.py on {database} exited {child.returncode}")
    case = json.loads(child.stdout)["cases"][0]
    return {
        "server_cpu_ms_per_orch": case["flow_server_cpu_ms_per_orch"],
        "settle_s": case["flow_settle_s"],
        "flow_wall_s": case["flow_wall_s"],
    }


def run(options: argparse.Namespace, home: Path) -> dict[str, Any]:
    os.environ.update(
        {"PHOENIX_HOME": str(home), "PHOENIX_API_TOKEN": TOKEN, "PREFECT_LOGGING_LEVEL": "WARNING"}
    )
    os.environ.pop("PREFECT_API_URL", None)
    from phoenix.prefect_server import ensure_prefect_api, stop_server
    from phoenix.settings import load_settings

    settings = load_settings()
    began = time.perf_counter()
    api_url = ensure_prefect_api(settings)
    log(f"Prefect server up in {time.perf_counter() - began:.1f} s")
    subprocess.run([PHOENIX, "memory", "store", "bench", "ready"], check=True, capture_output=True)
    port = 18000 + os.getpid() % 1000
    children = [
        start([PHOENIX, "serve", "--poll", "1"], home / "serve.log"),
        start([PHOENIX, "api", "--port", str(port)], home / "api.log"),
    ]
    document: dict[str, Any] = {"target_p50_ms": P50_TARGET_MS}
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/api/health", headers), 120, "phoenix api")
        with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
            log(f"router memory get over HTTP, {options.calls} calls ...")
            document["memory_get"] = memory_get_latency(api, options.calls)
        log(f"{options.deployment_runs} API-triggered deployment runs ...")
        document["deployment"] = {
            "served": summary(deployment_latency(api_url, options.deployment_runs)),
            "in_process": summary(
                timed(lambda: _memory_flow_in_process(), max(5, options.deployment_runs))
            ),
        }
    finally:
        for child in children:
            child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
        stop_server(settings)
    if not options.skip_store:
        log("8-process write load on the file store and the shared store ...")
        document["write_load"] = write_load()
    if not options.skip_server_db:
        log("propose N=256 with the Prefect server on SQLite, then on PostgreSQL ...")
        document["server_db"] = {db: server_cpu_per_orch(db) for db in ("sqlite", "postgresql")}
    return document


def _memory_flow_in_process() -> None:
    from flows import run_flow

    run_flow("memory", {"action": "get", "key": "bench"})


def report(document: dict[str, Any]) -> None:
    memory = document["memory_get"]
    http, here, bare = memory["http_api"], memory["in_process"], memory["duckdb_only"]
    floor = memory["empty_flow_run"]
    met = "met" if http["p50_ms"] <= P50_TARGET_MS else "MISSED"
    print(f"router `memory get` over HTTP: p50 {http['p50_ms']:.1f} ms, p99 {http['p99_ms']:.1f} ms"
          f" over {http['n']} calls — target p50 ≤ {P50_TARGET_MS:.0f} ms: {met}")  # fmt: skip
    prefect_share = here["p50_ms"] - bare["p50_ms"]
    print(f"  same router run in-process: p50 {here['p50_ms']:.1f} ms "
          f"(HTTP/in-process {http['p50_ms'] / here['p50_ms']:.2f}×); DuckDB read alone: "
          f"p50 {bare['p50_ms']:.2f} ms (Prefect's share: {prefect_share:.1f} ms); an empty flow "
          f"run: p50 {floor['p50_ms']:.1f} ms (the router runs two: itself and memory)")  # fmt: skip
    served, local = document["deployment"]["served"], document["deployment"]["in_process"]
    print(f"API-triggered deployment run, POST → COMPLETED on a warm `phoenix serve`: p50 "
          f"{served['p50_ms']:.0f} ms, p99 {served['p99_ms']:.0f} ms; the same flow in-process "
          f"p50 {local['p50_ms']:.0f} ms ({served['p50_ms'] / local['p50_ms']:.1f}×)")  # fmt: skip
    load = document.get("write_load")
    if load:
        print(f"8-process write load: {json.dumps(load)}")
    databases = document.get("server_db")
    if databases:
        sqlite, postgres = databases["sqlite"], databases["postgresql"]
        ratio = postgres["server_cpu_ms_per_orch"] / sqlite["server_cpu_ms_per_orch"]
        print(f"Prefect server CPU per ORCH (propose N=256, L=0): SQLite "
              f"{sqlite['server_cpu_ms_per_orch']:.1f} ms, PostgreSQL "
              f"{postgres['server_cpu_ms_per_orch']:.1f} ms ({ratio:.2f}×); settled after "
              f"{sqlite['settle_s']:.1f} s / {postgres['settle_s']:.1f} s")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--deployment-runs", type=int, default=10)
    parser.add_argument("--skip-store", action="store_true", help="no PostgreSQL write load")
    parser.add_argument(
        "--skip-server-db", action="store_true", help="no SQLite/PostgreSQL server comparison"
    )
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-surfaces-") as folder:
        document = run(options, Path(folder))
    if options.json:
        print(json.dumps(document, indent=2))
    else:
        report(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
