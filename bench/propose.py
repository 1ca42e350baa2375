"""Benchmark: what Prefect orchestration costs on top of the LLM calls of propose-improvements.

The propose-improvements flow fans N ORCH sub-agents out over the LLM.  Its floor is the LLM
itself: N calls made at once with nothing around them.  This script measures both in the same run,
on the same machine state, against the scripted chat server (`phoenix.testing.chat_server`) set to
a fixed latency L:

    bare   `asyncio.gather` of N distinct `litellm.acompletion` calls (no cap, no retries);
    flow   `run_flow("propose-improvements", {"seed": ..., "n": N, "synthesize": False})` on an
           already-started Prefect API server, timed end to end as a caller sees it (without the
           queen's synthesis, which embeds every proposal and asks a judge: not a per-ORCH cost);
    floor  Prefect's own floor for the same shape: a flow on the same ThreadPool task runner mapping
           N task runs that do nothing but wait L seconds — what any one-task-run-per-ORCH design
           costs here before it does any work.

For each (L, N) it prints the median walls, the ratio flow/bare and the per-ORCH overhead
(flow − bare) / N, and the same two figures for the floor.  The issue's targets: at N = 64 and
L = 1 s the flow takes at most 1.25 × the bare gather; at L = 0 and N = 256 the overhead is at most
15 ms per ORCH.  The Prefect server's start-up is timed and reported on its own, never inside a run.

Measurement hygiene, because this runs on small machines: a fresh PHOENIX_HOME (the user's state is
not touched) with its own Prefect server; a warm-up of both paths first; flow and bare runs
interleaved (in alternating order) and repeated, medians reported; before every timed run, a wait
until the Prefect server has finished ingesting the previous run's events (its API answers fast and
its processes are idle).  Every run is checked: all N ORCHs succeeded and the chat server saw exactly
N requests — a benchmark that silently measures failures or hidden retries is worthless.

It also prints the per-ORCH CPU as ratios of the same run, which hold across machines where
milliseconds do not: the flow's process CPU per ORCH over a bare call's CPU (target ≤ 2× at L = 0,
N = 256), Prefect's floor CPU per task run, and the Prefect server's CPU per ORCH.
`--with-baseline` first runs the same bench with `--baseline` — the behaviour before the per-ORCH
cost work: Prefect's default event ingestion and task-run logging, litellm pricing the unknown
model on every call — in a process of its own, and prints the server's CPU per ORCH against it
(target ≤ 0.5×).  Flows run at Prefect's default INFO level, as on the local service.

    python bench/propose.py [--repeats 3] [--sizes 16,64,256] [--latencies 1,0] [--json]
                            [--baseline | --with-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

RATIO_TARGET = 1.25
"""At N = 64 and L = 1 s, the flow's wall may be at most this multiple of the bare gather's."""
RATIO_CASE = (1.0, 64)
OVERHEAD_TARGET_MS = 15.0
"""At L = 0 and N = 256, the flow may add at most this much wall time per ORCH."""
OVERHEAD_CASE = (0.0, 256)

LLM_CONCURRENCY = 512
"""PHOENIX_LLM_CONCURRENCY for the bench: above every N, so the cap never throttles the flow."""
SEED = "a command-line todo app written in Python"
MODEL = "openai/scripted"
API_KEY = "sk-bench"

CPU_RATIO_TARGET = 2.0
"""At L = 0 and N = 256, the flow's process may spend at most this multiple of a bare call's CPU."""
SERVER_CPU_TARGET = 0.5
"""... and the Prefect server at most this fraction of its CPU per ORCH in the baseline."""

BASELINE_PREFECT = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "1",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "5",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "NOTSET",
}
"""`--baseline`: Prefect's own defaults, which Phoenix overrode to cut the per-ORCH cost."""

SETTLE_FAST_S = 0.05
SETTLE_POLLS = 3
SETTLE_IDLE_CPU = 0.15
"""The Prefect server counts as idle below this fraction of one core ..."""
SETTLE_WINDOW_S = 0.5
"""... over a window this long."""
SETTLE_DEADLINE_S = 180.0


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- the machine -------------------------------------------------------------------------------


def session_cpu_s(session_id: int) -> float:
    """CPU seconds used so far by every live process of a session (a managed server runs in one)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, session, ..., utime (12th), stime (13th).
        if int(fields[3]) == session_id:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


_http = httpx.Client(timeout=10.0, trust_env=False)  # loopback only: never through a proxy


def http_json(method: str, url: str, body: Any = None) -> Any:
    reply = _http.request(method, url, json=body)
    reply.raise_for_status()
    return reply.json()


class ChatServer:
    """The scripted OpenAI-compatible server, in a subprocess of its own."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "phoenix.testing.chat_server", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the chat server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def set_latency(self, latency_s: float) -> None:
        http_json("POST", self.url + "/control", {"latency_s": latency_s})

    def reset_counters(self, latency_s: float) -> None:
        http_json("POST", self.url + "/reset", {})
        self.set_latency(latency_s)

    def stats(self) -> dict[str, Any]:
        return http_json("GET", self.url + "/stats")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class PrefectServer:
    api_url: str
    pid: int
    startup_s: float

    def cpu_s(self) -> float:
        return session_cpu_s(self.pid)

    def wait_until_settled(self) -> float:
        """Wait until the server is idle and its API answers fast; how long it stayed busy.

        After a large fan-out the SQLite-backed server keeps ingesting task-run events for seconds,
        CPU-busy and sometimes answering 503; a run started then would pay for the previous one.
        The CPU is watched over a quiet window with no requests (a probe costs the server CPU too),
        then a few probes must each answer fast.
        """
        started = time.perf_counter()
        deadline = time.monotonic() + SETTLE_DEADLINE_S
        while time.monotonic() < deadline:
            window_start, cpu_before = time.perf_counter(), self.cpu_s()
            time.sleep(SETTLE_WINDOW_S)
            busy = (self.cpu_s() - cpu_before) / (time.perf_counter() - window_start)
            if busy < SETTLE_IDLE_CPU and all(
                self._probe_s() < SETTLE_FAST_S for _ in range(SETTLE_POLLS)
            ):
                return window_start - started
        log(f"the Prefect server did not settle within {SETTLE_DEADLINE_S:.0f} s; measuring anyway")
        return time.perf_counter() - started

    def _probe_s(self) -> float:
        started = time.perf_counter()
        try:
            http_json("POST", self.api_url + "/task_runs/filter", {"limit": 1})
        except httpx.HTTPError:  # 503 "database is locked", a timeout: not settled
            return float("inf")
        return time.perf_counter() - started


def start_prefect_server(home: Path) -> PrefectServer:
    """Phoenix's own Prefect server under `home`; this must run before Prefect is imported."""
    from phoenix.prefect_server import ensure_prefect_api, running_server
    from phoenix.settings import load_settings

    os.environ["PHOENIX_HOME"] = str(home)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("PREFECT_HOME", None)
    settings = load_settings()
    started = time.perf_counter()
    api_url = ensure_prefect_api(settings, announce=False)
    startup_s = time.perf_counter() - started
    record = running_server(settings)
    if record is None:
        raise RuntimeError("the Prefect server started but is not running")
    return PrefectServer(api_url=api_url, pid=record.pid, startup_s=startup_s)


def use_baseline() -> None:
    """Restore the behaviour from before the per-ORCH cost work, for a before/after comparison.

    The Prefect server writes each task-run state event in a transaction of its own and every
    task run ships its "Finished in state" log line; litellm prices the unknown model on every
    call.  Process-wide settings, so the baseline runs in a process of its own (`--with-baseline`).
    """
    import phoenix.prefect_server as prefect_server
    from phoenix.llm import client

    phoenix_defaults = prefect_server.prefect_environment
    prefect_server.prefect_environment = lambda settings: phoenix_defaults(settings) | BASELINE_PREFECT
    client._priced.add(MODEL)  # as if already seen: litellm is left to price it on every call


def configure_phoenix(chat_url: str) -> None:
    """Point Phoenix at the chat server, with no cap and no retries that could hide failures."""
    for name in list(os.environ):
        if name.startswith("PHOENIX_LLM_") or name.startswith("PHOENIX_ORCH_"):
            os.environ.pop(name)
    os.environ.update(
        {
            "PHOENIX_LLM_MODEL": MODEL,
            "PHOENIX_LLM_API_BASE": f"{chat_url}/v1",
            "PHOENIX_LLM_API_KEY": API_KEY,
            "PHOENIX_LLM_CONCURRENCY": str(LLM_CONCURRENCY),
            "PHOENIX_LLM_TIMEOUT": "60",
            "PHOENIX_ORCH_RETRIES": "0",
            # As the local service runs flows: Prefect's default INFO level (what it ships to the
            # API is part of the cost measured), with the console kept quiet.
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
    )


# --- one run of each path ----------------------------------------------------------------------


@dataclass
class Run:
    """One timed run of one path."""

    wall_s: float
    client_cpu_s: float
    failures: list[str]
    requests: int
    max_in_flight: int
    inner_wall_s: float | None = None
    """The flow's own timing of its fan-out (ORCH map + gather), without run set-up and records."""


def run_flow_once(n: int) -> tuple[float, float, list[str], float]:
    from flows import run_flow

    cpu, started = time.process_time(), time.perf_counter()
    result = run_flow("propose-improvements", {"seed": SEED, "n": n, "synthesize": False})
    wall = time.perf_counter() - started
    failures = [f"ORCH-{r['index']}: {r['error']}" for r in result["results"] if r["error"]]
    if result["succeeded"] != n and not failures:
        failures.append(f"{result['succeeded']} of {n} succeeded")
    return wall, time.process_time() - cpu, failures, float(result["wall_s"])


@functools.cache
def floor_flow() -> Callable[[int, float], int]:
    """A flow of the propose flow's shape whose N task runs only wait: Prefect's cost, alone."""
    from prefect import flow, task, unmapped
    from prefect.cache_policies import NO_CACHE
    from prefect.task_runners import ThreadPoolTaskRunner

    from phoenix.settings import MAX_ORCHS

    @task(name="floor-orch", task_run_name="floor-{index}", cache_policy=NO_CACHE)
    def wait(index: int, latency_s: float) -> int:
        time.sleep(latency_s)
        return index

    @flow(name="prefect-floor", task_runner=ThreadPoolTaskRunner(max_workers=MAX_ORCHS))
    def floor(n: int, latency_s: float) -> int:
        futures = wait.map(index=range(n), latency_s=unmapped(latency_s))
        return len([future.result() for future in futures])

    return floor


def run_floor_once(n: int, latency_s: float) -> tuple[float, float]:
    """The floor flow's wall and this process's CPU for it."""
    from flows import without_heartbeats

    floor = floor_flow()
    cpu, started = time.process_time(), time.perf_counter()
    with without_heartbeats():  # as `run_flow` runs the propose flow
        done = floor(n, latency_s)
    wall = time.perf_counter() - started
    if done != n:
        raise RuntimeError(f"the floor flow finished {done} of {n} task runs")
    return wall, time.process_time() - cpu


class BareGather:
    """N litellm calls at once on Phoenix's LLM event loop (its connection pool stays warm).

    The same loop the flow's ORCHs hand their calls to: litellm keeps one logging worker per
    process, bound to one loop, so a second loop in the same process would only measure that
    worker being moved back and forth.
    """

    def __init__(self) -> None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        from phoenix.llm.client import _import_litellm, completion_arguments
        from phoenix.settings import load_settings

        self.litellm = _import_litellm()
        # The very arguments the flow's ORCHs send (model, endpoint, key, timeout, max_tokens,
        # retries off), so both paths ask the chat server the same thing.
        self.arguments = completion_arguments(load_settings(), None)

    async def _gather(self, n: int) -> list[Any]:
        calls = [
            self.litellm.acompletion(
                messages=[{"role": "user", "content": f"Propose one improvement to {SEED} ({i})"}],
                temperature=0.7,
                **self.arguments,
            )
            for i in range(n)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    def run_once(self, n: int) -> tuple[float, float, list[str]]:
        from phoenix.llm.io_loop import run_on_io_loop

        cpu, started = time.process_time(), time.perf_counter()
        answers = run_on_io_loop(self._gather(n), timeout_s=600.0)
        wall = time.perf_counter() - started
        failures = []
        for i, answer in enumerate(answers):
            if isinstance(answer, BaseException):
                failures.append(f"call {i}: {type(answer).__name__}: {answer}"[:300])
            elif not answer.choices or not answer.choices[0].message.content:
                failures.append(f"call {i}: empty answer")
        return wall, time.process_time() - cpu, failures


# --- the measurement ---------------------------------------------------------------------------


@dataclass
class Case:
    """Every repeat of both paths at one (L, N), and the Prefect server's share of the work."""

    latency_s: float
    n: int
    bare: list[Run] = field(default_factory=list)
    flow: list[Run] = field(default_factory=list)
    flow_server_cpu_s: list[float] = field(default_factory=list)
    """Prefect server CPU from the start of a flow run until the server settled again."""
    flow_settle_s: list[float] = field(default_factory=list)
    """How long after a flow run the server kept ingesting its events."""
    floor_s: list[float] = field(default_factory=list)
    """Walls of Prefect's floor: the same fan-out of task runs that only wait L."""
    floor_cpu_s: list[float] = field(default_factory=list)
    """This process's CPU for each floor run."""

    def median(self, path: str, read: Callable[[Run], float | None]) -> float:
        values = [read(run) for run in getattr(self, path)]
        return statistics.median(value for value in values if value is not None)

    @property
    def bare_s(self) -> float:
        return self.median("bare", lambda run: run.wall_s)

    @property
    def flow_s(self) -> float:
        return self.median("flow", lambda run: run.wall_s)

    @property
    def ratio(self) -> float:
        return self.flow_s / self.bare_s

    @property
    def overhead_ms(self) -> float:
        return (self.flow_s - self.bare_s) / self.n * 1000

    @property
    def floor_wall_s(self) -> float:
        return statistics.median(self.floor_s)

    @property
    def floor_ratio(self) -> float:
        return self.floor_wall_s / self.bare_s

    @property
    def floor_overhead_ms(self) -> float:
        return (self.floor_wall_s - self.bare_s) / self.n * 1000

    @property
    def bound_s(self) -> float:
        """An estimate of the least a one-task-run-per-ORCH flow can take in one process: Prefect's
        floor plus the CPU of the LLM calls themselves, which share that process's GIL with it."""
        return self.floor_wall_s + self.median("bare", lambda run: run.client_cpu_s)

    @property
    def bound_ratio(self) -> float:
        return self.bound_s / self.bare_s

    @property
    def bound_overhead_ms(self) -> float:
        return (self.bound_s - self.bare_s) / self.n * 1000

    @property
    def cpu_ratio(self) -> float:
        """The flow's process CPU per ORCH over the bare path's CPU per call (medians)."""
        flow = self.median("flow", lambda run: run.client_cpu_s)
        return flow / self.median("bare", lambda run: run.client_cpu_s)

    @property
    def failures(self) -> list[str]:
        return [failure for run in self.bare + self.flow for failure in run.failures]

    def summary(self) -> dict[str, Any]:
        n = self.n
        return {
            "latency_s": self.latency_s,
            "n": n,
            "bare_wall_s": round(self.bare_s, 4),
            "flow_wall_s": round(self.flow_s, 4),
            "flow_fanout_wall_s": round(self.median("flow", lambda run: run.inner_wall_s), 4),
            "ratio": round(self.ratio, 3),
            "overhead_ms_per_orch": round(self.overhead_ms, 2),
            "floor_wall_s": round(self.floor_wall_s, 4),
            "floor_ratio": round(self.floor_ratio, 3),
            "floor_overhead_ms_per_task": round(self.floor_overhead_ms, 2),
            "bound_ratio": round(self.bound_ratio, 3),
            "bound_overhead_ms_per_orch": round(self.bound_overhead_ms, 2),
            "bare_client_cpu_ms_per_call": round(
                self.median("bare", lambda run: run.client_cpu_s) / n * 1000, 2
            ),
            "flow_client_cpu_ms_per_orch": round(
                self.median("flow", lambda run: run.client_cpu_s) / n * 1000, 2
            ),
            "flow_server_cpu_ms_per_orch": round(
                statistics.median(self.flow_server_cpu_s) / n * 1000, 2
            ),
            "floor_cpu_ms_per_task": round(statistics.median(self.floor_cpu_s) / n * 1000, 2),
            "cpu_ratio": round(self.cpu_ratio, 2),
            "flow_settle_s": round(statistics.median(self.flow_settle_s), 2),
            "bare_max_in_flight": max(run.max_in_flight for run in self.bare),
            "flow_max_in_flight": max(run.max_in_flight for run in self.flow),
            "failures": self.failures,
            "runs": {
                "bare": [asdict(run) for run in self.bare],
                "flow": [asdict(run) for run in self.flow],
            },
        }


class Bench:
    def __init__(self, prefect: PrefectServer, chat: ChatServer) -> None:
        self.prefect = prefect
        self.chat = chat
        self.bare = BareGather()

    def measure_bare(self, latency_s: float, n: int) -> Run:
        self.prefect.wait_until_settled()
        self.chat.reset_counters(latency_s)
        wall, cpu, failures = self.bare.run_once(n)
        return self._run(wall, cpu, failures, n)

    def measure_flow(self, case: Case) -> Run:
        self.prefect.wait_until_settled()
        self.chat.reset_counters(case.latency_s)
        server_cpu = self.prefect.cpu_s()
        wall, cpu, failures, inner = run_flow_once(case.n)
        run = self._run(wall, cpu, failures, case.n, inner)
        # The run's events are still being ingested: wait for that here and charge it to the run.
        case.flow_settle_s.append(self.prefect.wait_until_settled())
        case.flow_server_cpu_s.append(self.prefect.cpu_s() - server_cpu)
        return run

    def measure_floor(self, case: Case) -> None:
        self.prefect.wait_until_settled()
        wall, cpu = run_floor_once(case.n, case.latency_s)
        case.floor_s.append(wall)
        case.floor_cpu_s.append(cpu)

    def _run(
        self, wall: float, cpu: float, failures: list[str], n: int, inner: float | None = None
    ) -> Run:
        stats = self.chat.stats()
        if stats["requests"] != n:
            failures = [*failures, f"the chat server saw {stats['requests']} requests, not {n}"]
        return Run(wall, cpu, failures, stats["requests"], stats["max_in_flight"], inner)

    def warm_up(self, n: int) -> float:
        """One run of each path first: imports, connection pools, the server's first writes."""
        started = time.perf_counter()
        self.measure_flow(Case(0.0, n))
        self.measure_bare(0.0, n)
        self.measure_floor(Case(0.0, n))
        return time.perf_counter() - started

    def measure(self, latency_s: float, n: int, repeats: int) -> Case:
        case = Case(latency_s, n)
        for repeat in range(repeats):
            # Alternate which path goes first, so neither always inherits the other's aftermath.
            if repeat % 2 == 0:
                case.flow.append(self.measure_flow(case))
                case.bare.append(self.measure_bare(latency_s, n))
            else:
                case.bare.append(self.measure_bare(latency_s, n))
                case.flow.append(self.measure_flow(case))
            self.measure_floor(case)
            log(
                f"L={latency_s:g}s N={n} repeat {repeat + 1}/{repeats}: "
                f"bare {case.bare[-1].wall_s:.3f}s flow {case.flow[-1].wall_s:.3f}s"
                f" floor {case.floor_s[-1]:.3f}s"
            )
        return case


# --- the report --------------------------------------------------------------------------------


def find_case(cases: list[Case], latency_s: float, n: int) -> Case | None:
    return next((c for c in cases if c.latency_s == latency_s and c.n == n), None)


def verdicts(cases: list[Case]) -> list[dict[str, Any]]:
    ratio_case, overhead_case = find_case(cases, *RATIO_CASE), find_case(cases, *OVERHEAD_CASE)
    # (name, case, limit, the measured value, its floor-based bound, unit)
    targets: list[tuple[str, Case | None, float, Callable[[Case], float], Callable[[Case], float], str]]
    targets = [
        (
            "flow/bare at L=1s, N=64",
            ratio_case,
            RATIO_TARGET,
            lambda c: c.ratio,
            lambda c: c.bound_ratio,
            "×",
        ),
        (
            "overhead per ORCH at L=0, N=256",
            overhead_case,
            OVERHEAD_TARGET_MS,
            lambda c: c.overhead_ms,
            lambda c: c.bound_overhead_ms,
            " ms",
        ),
    ]
    results = []
    for name, case, limit, read, read_bound, unit in targets:
        if case is None:
            verdict, value = "NOT MEASURED", None
        elif case.failures:
            verdict, value = "INVALID", read(case)
        else:
            value = read(case)
            verdict = "PASS" if value <= limit else "MISS"
        bound = None if case is None else read_bound(case)
        results.append(
            {
                "target": name,
                "limit": limit,
                "unit": unit.strip(),
                "value": value,
                "verdict": verdict,
                "bound": bound,
            }
        )
    return results


def print_report(document: dict[str, Any]) -> None:
    print(
        f"Prefect server start-up (not in any run): {document['prefect_server_startup_s']:.2f} s;"
        f" warm-up (one flow + one bare at N={document['warmup_n']}): {document['warmup_s']:.2f} s"
    )
    print(
        f"Medians of {document['repeats']} interleaved repeats.  PHOENIX_LLM_CONCURRENCY="
        f"{LLM_CONCURRENCY} (above every N, so the flow is not capped; the bare gather has no cap),"
        " PHOENIX_ORCH_RETRIES=0."
    )
    header = (
        f"{'L s':>4} {'N':>4} │ {'bare s':>7} {'flow s':>7} {'flow/bare':>9} {'ovh ms/ORCH':>11} │"
        f" {'floor s':>7} {'floor/bare':>10} {'ovh ms/task':>11} │"
        f" {'fan-out s':>9} {'in-flight b/f':>13} │ {'cpu ms/call b':>13} {'cpu ms/ORCH f':>13}"
        f" {'srv cpu ms/ORCH':>15} {'settle s':>8}"
    )
    print()
    print(header)
    print("─" * len(header))
    for case in document["cases"]:
        in_flight = f"{case['bare_max_in_flight']}/{case['flow_max_in_flight']}"
        print(
            f"{case['latency_s']:>4g} {case['n']:>4} │ {case['bare_wall_s']:>7.3f}"
            f" {case['flow_wall_s']:>7.3f} {case['ratio']:>9.2f} {case['overhead_ms_per_orch']:>11.2f}"
            f" │ {case['floor_wall_s']:>7.3f} {case['floor_ratio']:>10.2f}"
            f" {case['floor_overhead_ms_per_task']:>11.2f}"
            f" │ {case['flow_fanout_wall_s']:>9.3f} {in_flight:>13} │"
            f" {case['bare_client_cpu_ms_per_call']:>13.2f} {case['flow_client_cpu_ms_per_orch']:>13.2f}"
            f" {case['flow_server_cpu_ms_per_orch']:>15.2f} {case['flow_settle_s']:>8.2f}"
        )
        for failure in case["failures"][:5]:
            print(f"      FAILURE: {failure}")
        if len(case["failures"]) > 5:
            print(f"      ... and {len(case['failures']) - 5} more failures")
    print()
    print(
        "floor = Prefect alone: the same fan-out of task runs that only wait L (no LLM, no records);\n"
        "bound = floor wall + the bare path's CPU: an estimate of the least any flow with one task run\n"
        "per ORCH can take in one process, since Prefect's work and litellm's share its GIL;\n"
        "fan-out = the flow's own timing of its ORCH map + gather; cpu = this process's CPU"
        " (b = bare, f = flow);\nsrv cpu = Prefect server CPU from the flow run's start until it"
        " settled; settle = how long it kept ingesting after the run."
    )
    print()
    for target in document["targets"]:
        unit = target["unit"] if target["unit"] == "×" else f" {target['unit']}"
        value = "—" if target["value"] is None else f"{target['value']:.2f}{unit}"
        bound = target["bound"]
        bound_text = "" if bound is None else f"; floor + LLM CPU bound: {bound:.2f}{unit}"
        print(
            f"{target['verdict']:<5} {target['target']}: {value} (target ≤ {target['limit']:g}{unit})"
            + bound_text
        )
    print()
    print("\n".join(cpu_report(document)))


def cpu_report(document: dict[str, Any]) -> list[str]:
    """Per-ORCH CPU as ratios measured in one run: they hold across machines where ms do not."""
    baseline = {(c["latency_s"], c["n"]): c for c in document.get("baseline_cases") or []}
    lines = ["Per-ORCH CPU (medians; ratios compare figures of the same run):"]
    for case in document["cases"]:
        line = (
            f"  L={case['latency_s']:g} N={case['n']}: flow process"
            f" {case['flow_client_cpu_ms_per_orch']:.2f} ms/ORCH / bare"
            f" {case['bare_client_cpu_ms_per_call']:.2f} ms/call = {case['cpu_ratio']:.2f}×"
            f" (floor {case['floor_cpu_ms_per_task']:.2f} ms/task); server"
            f" {case['flow_server_cpu_ms_per_orch']:.2f} ms/ORCH"
        )
        old = baseline.get((case["latency_s"], case["n"]))
        if old:
            line += (
                f" vs baseline {old['flow_server_cpu_ms_per_orch']:.2f}"
                f" = {case['flow_server_cpu_ms_per_orch'] / old['flow_server_cpu_ms_per_orch']:.2f}×"
                f"; baseline flow process {old['flow_client_cpu_ms_per_orch']:.2f} ms/ORCH / bare"
                f" {old['bare_client_cpu_ms_per_call']:.2f} ms/call = {old['cpu_ratio']:.2f}×"
            )
        lines.append(line)
    case = next((c for c in document["cases"] if (c["latency_s"], c["n"]) == OVERHEAD_CASE), None)
    if case is not None:
        valid = "INVALID" if case["failures"] else None
        verdict = valid or ("PASS" if case["cpu_ratio"] <= CPU_RATIO_TARGET else "MISS")
        lines.append(
            f"{verdict:<5} flow process CPU per ORCH / bare CPU per call at L=0, N=256:"
            f" {case['cpu_ratio']:.2f}× (target ≤ {CPU_RATIO_TARGET:g}×)"
        )
        old = baseline.get(OVERHEAD_CASE)
        if old:
            share = case["flow_server_cpu_ms_per_orch"] / old["flow_server_cpu_ms_per_orch"]
            verdict = valid or ("PASS" if share <= SERVER_CPU_TARGET else "MISS")
            lines.append(
                f"{verdict:<5} server CPU per ORCH at L=0, N=256, over the baseline's:"
                f" {share:.2f}× (target ≤ {SERVER_CPU_TARGET:g}×)"
            )
    if not baseline:
        lines.append("(no baseline in this run: --with-baseline measures it first)")
    return lines


# --- main --------------------------------------------------------------------------------------


def parse_list(text: str, kind: Callable[[str], Any]) -> list[Any]:
    return [kind(part) for part in text.split(",") if part.strip()]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per path and case")
    parser.add_argument("--sizes", default="16,64,256", help="numbers of ORCHs, comma-separated")
    parser.add_argument("--latencies", default="1,0", help="chat latencies in seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="measure the behaviour from before the per-ORCH cost work (Prefect's defaults, "
        "litellm pricing the unknown model on every call)",
    )
    parser.add_argument(
        "--prefect-database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the Prefect server's database: its default SQLite file, or a PostgreSQL cluster the "
        "bench starts (the multi-machine setup; needs PostgreSQL's server programs)",
    )
    parser.add_argument(
        "--with-baseline",
        action="store_true",
        help="first run the same bench with --baseline in a process of its own, then compare",
    )
    options = parser.parse_args(argv)
    options.sizes = parse_list(options.sizes, int)
    options.latencies = parse_list(options.latencies, float)
    if options.repeats < 1 or not options.sizes or not options.latencies:
        parser.error("need at least one repeat, one size and one latency")
    if max(options.sizes) > LLM_CONCURRENCY:
        parser.error(f"sizes above {LLM_CONCURRENCY} would be throttled by the concurrency cap")
    return options


def run_bench(options: argparse.Namespace, home: Path) -> dict[str, Any]:
    chat = ChatServer()
    try:
        configure_phoenix(chat.url)
        log("starting a Prefect server in a temporary PHOENIX_HOME ...")
        prefect = start_prefect_server(home)
        log(f"Prefect server up in {prefect.startup_s:.2f} s")
        try:
            bench = Bench(prefect, chat)
            warmup_n = max(options.sizes)
            log(f"warming up at N={warmup_n} ...")
            warmup_s = bench.warm_up(warmup_n)
            cases = [
                bench.measure(latency, n, options.repeats)
                for latency in options.latencies
                for n in options.sizes
            ]
        finally:
            from prefect.logging.handlers import APILogWorker

            from phoenix.prefect_server import stop_server
            from phoenix.settings import load_settings

            APILogWorker.drain_all(timeout=10)  # the last runs' log lines, before the server goes
            stop_server(load_settings())
    finally:
        chat.stop()
    return {
        "prefect_server_startup_s": round(prefect.startup_s, 3),
        "warmup_n": warmup_n,
        "warmup_s": round(warmup_s, 3),
        "repeats": options.repeats,
        "llm_concurrency": LLM_CONCURRENCY,
        "orch_retries": 0,
        "cpus": os.cpu_count(),
        "cases": [case.summary() for case in cases],
        "targets": verdicts(cases),
    }


def run_baseline(argv: list[str]) -> list[dict[str, Any]]:
    """The cases of the same bench run with `--baseline`, in a child process (settings are global)."""
    arguments = [a for a in argv if a not in ("--with-baseline", "--json")]
    log("measuring the baseline first, in a process of its own ...")
    child = subprocess.run(
        [sys.executable, __file__, *arguments, "--baseline", "--json"],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if child.returncode not in (0, 1):
        raise RuntimeError(f"the baseline bench exited with status {child.returncode}")
    return json.loads(child.stdout)["cases"]


@contextlib.contextmanager
def prefect_database(kind: str) -> Iterator[None]:
    """The Prefect server's database for the bench: SQLite (nothing to do) or a fresh PostgreSQL."""
    if kind == "sqlite":
        yield
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project's tests/ package
    from tests.postgres_server import fresh_database, running_postgres

    with running_postgres() as server:
        database = fresh_database(server, "prefect")
        os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = (
            f"postgresql+asyncpg://phoenix@127.0.0.1:{server.port}/{database}"
        )
        log(f"the Prefect server's database: PostgreSQL on port {server.port}")
        try:
            yield
        finally:
            os.environ.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)


def exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    # A terminated bench still stops its servers and removes its PHOENIX_HOME (the finally blocks).
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    baseline_cases = run_baseline(argv or sys.argv[1:]) if options.with_baseline else None
    if options.baseline:
        use_baseline()
    home = Path(tempfile.mkdtemp(prefix="phoenix-bench-"))
    try:
        with prefect_database(options.prefect_database):
            document = run_bench(options, home)
        document["prefect_database"] = options.prefect_database
        document["baseline"] = options.baseline
        if baseline_cases is not None:
            document["baseline_cases"] = baseline_cases
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if options.json:
        print(json.dumps(document, indent=2))
    else:
        print_report(document)
    return 1 if any(case["failures"] for case in document["cases"]) else 0


if __name__ == "__main__":
    sys.exit(main())
