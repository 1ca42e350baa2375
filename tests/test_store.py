"""The DuckDB store: schema, key-value memory, and several processes sharing one file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from phoenix.errors import BadInput, NotFound
from phoenix.store import Store
from phoenix.store import memory as kv
from phoenix.store.proposals import ProposalResult, ProposeRun, load_run, save_run
from phoenix.store.schema import LATEST_VERSION


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "phoenix.duckdb")


OPEN_AT_ONCE = textwrap.dedent(
    """
    import sys, duckdb
    # No retry: DuckDB refuses at once while another process holds the file.
    connection = duckdb.connect(sys.argv[1])
    connection.execute("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
    connection.execute("INSERT INTO probe VALUES (1)")
    connection.close()
    """
)


def assert_another_process_can_write(path: Path) -> None:
    """The file is free: a second process opens it read-write and writes, without waiting.

    Checked from another process because DuckDB caches open databases per process: a connection
    this process leaked would not stop this process from opening the file again.
    """
    probe = subprocess.run(
        [sys.executable, "-c", OPEN_AT_ONCE, str(path)], capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr


def test_schema_is_migrated_on_first_open_and_recorded(store: Store) -> None:
    versions = store.read(
        lambda c: c.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    )
    assert versions[-1][0] == LATEST_VERSION
    assert_another_process_can_write(store.path)


def test_every_unit_of_work_releases_the_file_for_other_processes(store: Store) -> None:
    kv.store_value(store, "key", "value")
    assert_another_process_can_write(store.path)
    assert kv.get_value(store, "key").value == "value"
    assert_another_process_can_write(store.path)

    def fails_halfway(connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute("INSERT INTO kv_memory (key, value) VALUES ('half', 'written')")
        raise RuntimeError("work failed")

    with pytest.raises(RuntimeError, match="work failed"):
        store.transaction(fails_halfway)
    assert_another_process_can_write(store.path)
    with pytest.raises(NotFound):
        kv.get_value(store, "half")  # rolled back, and the file released all the same


def test_store_get_replace_delete(store: Store) -> None:
    kv.store_value(store, " greeting ", "hello")
    assert kv.get_value(store, "greeting").value == "hello"
    kv.store_value(store, "greeting", "hello again")
    assert kv.get_value(store, "greeting").value == "hello again"
    assert kv.count_items(store) == 1
    assert kv.delete_value(store, "greeting").value == "hello again"
    with pytest.raises(NotFound):
        kv.get_value(store, "greeting")
    with pytest.raises(NotFound):
        kv.delete_value(store, "greeting")


@pytest.mark.parametrize("key", ["", "   ", None])
def test_blank_keys_are_refused_and_nothing_is_written(store: Store, key: str | None) -> None:
    with pytest.raises(BadInput):
        kv.store_value(store, key, "value")  # type: ignore[arg-type]
    assert kv.count_items(store) == 0


def test_search_matches_key_prefix_and_value_text(store: Store) -> None:
    kv.store_value(store, "project/alpha", "a rust agent")
    kv.store_value(store, "project/beta", "a python agent")
    kv.store_value(store, "notes", "the Project is late")
    kv.store_value(store, "other", "nothing here")
    found = kv.search(store, "project")
    assert found.count == 3
    # Key-prefix matches come first.
    assert {item.key for item in found.items[:2]} == {"project/alpha", "project/beta"}
    assert found.items[2].key == "notes"
    assert kv.search(store, "PYTHON").items[0].key == "project/beta"
    assert kv.search(store, "project", limit=1).count == 1


def test_search_limit_defaults_to_20_and_is_capped(store: Store) -> None:
    for i in range(30):
        kv.store_value(store, f"k{i:02d}", "v")
    assert kv.search(store, "k").count == 20
    assert kv.search(store, "k", limit=100).count == 30
    with pytest.raises(BadInput):
        kv.search(store, "k", limit=101)
    with pytest.raises(BadInput):
        kv.search(store, "k", limit=0)


def test_episode_keys_never_collide() -> None:
    keys = {kv.episode_key() for _ in range(1000)}
    assert len(keys) == 1000


def test_a_propose_run_round_trips_in_index_order(store: Store) -> None:
    results = [
        ProposalResult(
            index=i,
            angle="a",
            proposal=None if i == 1 else f"p{i}",
            error="boom" if i == 1 else None,
            attempts=1 + (i == 1) * 2,
            latency_s=0.5,
        )
        for i in range(3)
    ]
    run = ProposeRun(
        run_id="r1", seed="s", n=3, model="m", succeeded=2, failed=1, wall_s=1.0, results=results
    )
    save_run(store, run)
    assert load_run(store, "r1") == run


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from phoenix.store import Store
    from phoenix.store import memory as kv

    store = Store(Path(sys.argv[1]))
    name, count = sys.argv[2], int(sys.argv[3])
    padding = "x" * 2000  # values that fill blocks, so each close rewrites parts of the file
    for i in range(count):
        kv.store_value(store, f"{name}/{i}", f"value {i} from {name} {padding}")
        # Readers never fail because another process is writing, and see what they wrote.
        assert kv.get_value(store, f"{name}/{i}").value == f"value {i} from {name} {padding}"
    print("done", name)
    """
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from phoenix.store import Store

    store = Store(Path(sys.argv[1]))
    with store.connect() as connection:
        print("holding", flush=True)
        connection.execute("INSERT INTO kv_memory (key, value) VALUES ('holder', 'held')")
        time.sleep(1.5)
    """
)


def test_processes_writing_at_once_lose_nothing_and_never_fail_on_the_lock(store: Store) -> None:
    """Four writer processes and one that holds the file for 1.5 s: every write lands.

    With DuckDB's own lock alone (no `<database>.lock`), this failed in most runs on duckdb 2.0.1:
    a write read back as missing, or "Could not read enough bytes from file".
    """
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store.path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store.path), f"w{n}", "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert out.startswith("done")
    assert holder.wait(timeout=30) == 0
    assert kv.count_items(store) == 4 * 40 + 1
    for n in range(4):
        assert kv.search(store, f"w{n}/", limit=100).count == 40
