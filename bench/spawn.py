"""One spawn on the local forge, stage by stage, and the forge's latency for PyGithub.

Starts, in a temporary PHOENIX_HOME: Phoenix's own Prefect server, the scripted chat server (its
answer is a module that compiles, so the LLM costs nothing here), the local forge and the local
Phoenix service (which serves the enforcer).  Then:

1. `spawn-agent` once, cold (cargo builds tokio and serde for the first time): the time of each
   stage (generate, assemble, cargo test, report, publish, pull request, enforce), then the
   reviewer's approval and the time until the enforcer has merged.
   Baseline: a bare `cargo test` of the same agent, warm, in this process.
2. 1 000 `get_repo` calls through PyGithub (throttle off): median and p99.
   Baseline: the same GET through a bare httpx client, so the ratio is PyGithub's own cost.

Target (issue 9): forge median ≤ 5 ms.  Run: `python bench/spawn.py [--calls N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GOOD = 'pub async fn run() {\n    println!("weather: sunny");\n}\n'


def timed(call: Any, calls: int) -> list[float]:
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def p99_ms(seconds: list[float]) -> float:
    return sorted(seconds)[max(0, int(len(seconds) * 0.99) - 1)] * 1000


def start_chat_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "phoenix.testing.chat_server", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    url = f"http://127.0.0.1:{int(line.split()[1])}"
    import httpx

    httpx.post(f"{url}/control", json={"replies": [GOOD] * 4}, timeout=10).raise_for_status()
    return process, url


def stage_durations(result: dict[str, Any]) -> list[tuple[str, float]]:
    """Each stage's duration: the time from its start to the next stage's (or the end)."""
    stages = result["stages"]
    ends = [stage["started_s"] for stage in stages[1:]] + [result["duration_s"]]
    durations: dict[str, float] = {}
    for stage, end in zip(stages, ends, strict=True):
        name = stage["stage"].split(" (")[0]
        durations[name] = durations.get(name, 0.0) + end - stage["started_s"]
    return list(durations.items())


def spawn_once(home: Path) -> None:
    from flows import run_flow
    from phoenix.agents.cargo import cargo_test
    from phoenix.github import pulls
    from phoenix.github.access import forge_access
    from phoenix.github.settings import load_github_settings
    from phoenix.settings import load_settings
    from phoenix.store import open_store
    from phoenix.store.agents import get_agent

    started = time.perf_counter()
    result = run_flow("spawn-agent", {"description": "reports the weather", "name": "weather-bot"})
    total = time.perf_counter() - started
    if result.get("type") == "error":
        raise SystemExit(f"spawn failed: {result['message']}")
    print(f"spawn: {result['status']} in {total:.1f} s (PR {result['pr_url']})")
    durations = stage_durations(result)
    for name, seconds in durations:
        print(f"  {name:14} {seconds:7.2f} s")

    settings = load_settings()
    access = forge_access(settings, load_github_settings(os.environ))
    approved = time.perf_counter()
    pulls.approve(access, f"phoenix-agents/{result['name']}#{result['pr_number']}")
    store = open_store(settings)
    while get_agent(store, result["id"]).status != "merged":
        if time.perf_counter() - approved > 300:
            raise SystemExit("the enforcer did not merge within 300 s of the approval")
        time.sleep(0.2)
    merged_after = time.perf_counter() - approved
    print(f"  {'approve→merge':14} {merged_after:7.2f} s")

    folder = home / "agents" / result["id"] / "repo"
    warm = cargo_test(folder, target_dir=home / "agents" / "cargo-target")
    tested = dict(durations).get("cargo test", 0.0)
    print(f"baseline: bare warm cargo test {warm.duration_s:.2f} s;"
          f" spawn's cargo test stage / baseline = {tested / warm.duration_s:.2f}x")  # fmt: skip


def forge_latency(calls: int) -> float:
    import httpx

    from phoenix.github.access import local_forge_access
    from phoenix.github.client import connect
    from phoenix.settings import load_settings

    access = local_forge_access(load_settings())
    github = connect(access.api_url, access.token)
    full_name = "phoenix-agents/weather-bot"
    timed(lambda: github.get_repo(full_name), 50)  # warm-up
    pygithub = timed(lambda: github.get_repo(full_name), calls)
    headers = {"Authorization": f"token {access.token.get_secret_value()}"}
    with httpx.Client(headers=headers, trust_env=False) as client:
        url = f"{access.api_url}/repos/{full_name}"
        timed(lambda: client.get(url).raise_for_status(), 50)
        bare = timed(lambda: client.get(url).raise_for_status(), calls)
    print(f"forge get_repo via PyGithub: n={calls} median {median_ms(pygithub):.2f} ms"
          f" p99 {p99_ms(pygithub):.2f} ms (target: median ≤ 5 ms)")  # fmt: skip
    print(f"baseline bare httpx GET:     median {median_ms(bare):.2f} ms;"
          f" PyGithub / bare = {median_ms(pygithub) / median_ms(bare):.2f}x")  # fmt: skip
    return median_ms(pygithub)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    options = parser.parse_args()
    chat, chat_url = start_chat_server()
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-spawn-") as folder:
        home = Path(folder)
        os.environ.update({
            "PHOENIX_HOME": str(home), "PHOENIX_LLM_MODEL": "openai/scripted",
            "PHOENIX_LLM_API_BASE": f"{chat_url}/v1", "PHOENIX_LLM_API_KEY": "sk-bench",
            "MANDATE_GITHUB_CI": "false", "REQUIRE_HUMAN_PR_APPROVAL": "true",
            "PHOENIX_PR_WATCH_SECONDS": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
        })  # fmt: skip
        os.environ.pop("GITHUB_PAT", None)
        os.environ.pop("PREFECT_API_URL", None)
        from phoenix import daemon
        from phoenix.forge.server import stop_forge
        from phoenix.prefect_server import ensure_prefect_api, stop_server
        from phoenix.settings import load_settings

        settings = load_settings()
        ensure_prefect_api(settings, announce=False)
        try:
            spawn_once(home)
            forge_latency(options.calls)
        finally:
            daemon.stop(settings)
            stop_forge(settings)
            stop_server(settings)
            chat.terminate()


if __name__ == "__main__":
    main()
