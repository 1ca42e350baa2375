"""Benchmark: the same write load on the DuckDB file store and on the shared DuckLake store.

P processes (8 by default) each store W distinct memory keys through `phoenix.store.memory`, and
every tenth write also stores one of five keys that every process writes; all start at once (each
process attaches/opens and migrates before the start signal, so start-up is not timed).  Every
write is read back at the end: a lost write fails the run instead of being timed.

The shared store's catalog is a PostgreSQL cluster this script starts on 127.0.0.1 (tests/
postgres_server.py); its data path is a local folder.  Both stores run on the same machine, so the
figure is the cost of DuckLake's commit protocol, not of a network.

    python bench/store_load.py [--processes 8] [--writes 200] [--json]

From another benchmark: `run_write_load(env)` for one store, `compare_stores()` for both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHARED_KEYS = 5

WRITER = textwrap.dedent(
    """
    import json, sys
    from phoenix.settings import load_settings
    from phoenix.store import open_store
    from phoenix.store import memory as kv

    store = open_store(load_settings(json.loads(sys.argv[1])))
    name, count, shared = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    kv.count_items(store)  # open (attach) and migrate before the start
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        kv.store_value(store, f"{name}/{i}", f"value {i} from {name}")
        if i % 10 == 0:
            kv.store_value(store, f"shared/{i // 10 % shared}", f"{name} {i}")
    print("done", flush=True)
    """
)


def run_write_load(env: dict[str, str], processes: int = 8, writes: int = 200) -> dict[str, Any]:
    """P processes writing at once to the store `env` configures (PHOENIX_HOME, PHOENIX_STORE_*).

    Returns the wall time from the start signal until the last writer finished, the number of
    writes (distinct keys plus shared-key writes) and writes per second.

    Raises:
        RuntimeError: a writer failed, or a write is missing afterwards.
    """
    from phoenix.settings import load_settings
    from phoenix.store import memory as kv
    from phoenix.store import open_store

    settings = json.dumps(env)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, settings, f"w{n}", str(writes), str(SHARED_KEYS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for n in range(processes)
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdin is not None
        if writer.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a writer did not start: {writer.communicate()[1][-2000:]}")
    began = time.perf_counter()
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        _out, err = writer.communicate(timeout=3600)
        if writer.returncode != 0:
            raise RuntimeError(f"a writer failed: {err[-2000:]}")
    wall = time.perf_counter() - began
    store = open_store(load_settings(env))
    expected = processes * writes + min(SHARED_KEYS, (writes + 9) // 10)
    found = kv.count_items(store)
    if found != expected:
        raise RuntimeError(f"{expected} keys written, {found} found")
    total = processes * (writes + (writes + 9) // 10)
    return {
        "store": store.describe(),
        "processes": processes,
        "writes": total,
        "wall_s": round(wall, 2),
        "writes_per_s": round(total / wall, 1),
    }


def compare_stores(processes: int = 8, writes: int = 200) -> dict[str, Any]:
    """The same load on a fresh file store and on a fresh DuckLake (a PostgreSQL started here)."""
    from tests.postgres_server import fresh_database, running_postgres

    with tempfile.TemporaryDirectory(prefix="phoenix-bench-store-") as folder:
        root = Path(folder)
        file_store = run_write_load({"PHOENIX_HOME": str(root / "file")}, processes, writes)
        with running_postgres() as server:
            lake = {
                "PHOENIX_HOME": str(root / "lake"),
                "PHOENIX_STORE_URL": server.store_url(fresh_database(server)),
                "PHOENIX_STORE_DATA_PATH": str(root / "lake-data"),
            }
            shared_store = run_write_load(lake, processes, writes)
    return {
        "file": file_store,
        "shared": shared_store,
        "shared_over_file_throughput": round(
            shared_store["writes_per_s"] / file_store["writes_per_s"], 3
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--writes", type=int, default=200, help="distinct keys per process")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    result = compare_stores(options.processes, options.writes)
    if options.json:
        print(json.dumps(result, indent=2))
        return 0
    for name in ("file", "shared"):
        run = result[name]
        print(
            f"{name:6} {run['writes']} writes, {run['processes']} processes, {run['wall_s']:.2f} s:"
            f" {run['writes_per_s']:.1f} writes/s  ({run['store']})"
        )
    print(f"shared / file throughput: {result['shared_over_file_throughput']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
