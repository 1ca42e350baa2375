"""Forge latency: 1 000 PyGithub GETs (get_repo, then get_branch) against a running local forge.

Starts a forge in a temporary PHOENIX_HOME, with PyGithub's throttle off; prints median and p99 per
call. Target: median ≤ 5 ms for get_repo. Run: `python bench/forge.py [--calls N]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from github import Auth, Github

from phoenix.forge import server
from phoenix.settings import load_settings


def timed(call: object, calls: int) -> list[float]:
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        seconds.append(time.perf_counter() - started)
    return seconds


def report(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"{name:12} n={len(seconds)}  median {statistics.median(seconds) * 1000:.2f} ms"
          f"  p99 {p99 * 1000:.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    calls = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings({"PHOENIX_HOME": home})
        token = server.issue_token(settings, "bench")["token"]
        url = server.ensure_forge(settings, announce=False)
        try:
            github = Github(
                auth=Auth.Token(token), base_url=server.api_url(url), retry=None,
                seconds_between_requests=0, seconds_between_writes=0,
            )  # fmt: skip
            repo = github.get_user().create_repo("bench", auto_init=True)
            timed(lambda: github.get_repo("bench/bench"), 50)  # warm-up
            report("get_repo", timed(lambda: github.get_repo("bench/bench"), calls))
            report("get_branch", timed(lambda: repo.get_branch("main"), calls))
        finally:
            server.stop_forge(settings)


if __name__ == "__main__":
    main()
