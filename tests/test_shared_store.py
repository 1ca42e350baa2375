"""The shared store (DuckLake, catalog in a real PostgreSQL) and the file store, behaving alike.

The functional tests run against both stores; the rest is what only sharing brings: many processes
writing at once, two processes migrating a fresh catalog, duplicate rows of a key that concurrent
inserts leave behind, two "machines" (PHOENIX_HOMEs) seeing one another's writes through the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from phoenix.errors import NotFound, UsageError
from phoenix.settings import SettingsError, load_settings
from phoenix.store import StateStore, Store, open_store, repos
from phoenix.store import memory as kv
from phoenix.store.lake import LakeStore, StoreUnavailable, mask_secrets
from phoenix.store.proposals import ProposalResult, ProposeRun, count_runs, load_run, save_run
from phoenix.store.schema import LATEST_VERSION
from tests.conftest import PHOENIX, cli_environment
from tests.postgres_server import PostgresServer, fresh_database, postgres_server

__all__ = ["postgres_server"]  # the session fixture, imported for pytest


def lake_environment(server: PostgresServer, data: Path) -> dict[str, str]:
    """The two settings of a shared store with a catalog of its own."""
    return {
        "PHOENIX_STORE_URL": server.store_url(fresh_database(server)),
        "PHOENIX_STORE_DATA_PATH": str(data),
    }


@pytest.fixture
def lake_env(postgres_server: PostgresServer, tmp_path: Path) -> dict[str, str]:
    return lake_environment(postgres_server, tmp_path / "lake-data")


@pytest.fixture(params=["file", "lake"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    """Each store Phoenix offers, as open_store() makes it from the settings."""
    environment = {"PHOENIX_HOME": str(tmp_path / "home")}
    if request.param == "lake":
        server = request.getfixturevalue("postgres_server")
        environment |= lake_environment(server, tmp_path / "lake-data")
    chosen = open_store(load_settings(environment))
    assert isinstance(chosen, LakeStore if request.param == "lake" else Store)
    return chosen


def lake_of(env: dict[str, str]) -> LakeStore:
    chosen = open_store(load_settings(env))
    assert isinstance(chosen, LakeStore)
    return chosen


# --- the same behaviour from both stores ---------------------------------------------------------


def test_memory_store_get_replace_search_delete(store: StateStore) -> None:
    kv.store_value(store, " greeting ", "hello")
    kv.store_value(store, "greeting", "hello again")
    kv.store_value(store, "project/alpha", "a rust agent")
    kv.store_value(store, "notes", "the Project is late")
    kv.store_value(store, kv.episode_key(), "user: hi")
    assert kv.get_value(store, "greeting").value == "hello again"
    assert kv.count_items(store) == 3 and kv.count_items(store, episodes=True) == 1
    found = kv.search(store, "project")
    assert [item.key for item in found.items] == ["project/alpha", "notes"]
    assert kv.search(store, "episode/").count == 1
    assert kv.delete_value(store, "greeting").value == "hello again"
    with pytest.raises(NotFound):
        kv.get_value(store, "greeting")
    with pytest.raises(NotFound):
        kv.delete_value(store, "greeting")
    assert kv.count_items(store) == 2


def a_run(run_id: str, count: int) -> ProposeRun:
    results = [
        ProposalResult(
            index=i,
            angle=f"angle {i}",
            proposal=None if i == 1 else f"proposal {i}",
            error="boom" if i == 1 else None,
            attempts=1 + (i == 1) * 2,
            latency_s=0.25 * i,
        )
        for i in range(count)
    ]
    failed = 1 if count > 1 else 0
    return ProposeRun(
        run_id=run_id, seed="s", n=count, model="m", succeeded=count - failed, failed=failed,
        wall_s=1.5, results=results,
    )  # fmt: skip


def test_a_propose_run_round_trips_and_a_second_save_replaces_it(store: StateStore) -> None:
    run = a_run("r1", 12)  # more rows than DuckLake inlines: a data file in the shared path
    save_run(store, run)
    save_run(store, a_run("r2", 2))
    assert load_run(store, "r1") == run
    smaller = a_run("r1", 3)
    save_run(store, smaller)
    assert load_run(store, "r1") == smaller
    assert load_run(store, "missing") is None
    assert count_runs(store) == 2


def a_repo(repo_id: str = "abcdef0123", commit: str = "c1") -> repos.RepoRecord:
    return repos.RepoRecord(
        id=repo_id, name="demo", owner="me", url=f"https://example.com/{repo_id}.git",
        local_path=f"/srv/repos/{repo_id}", branch="main", commit=commit, build_system="npm",
        build_systems=["npm", "make"], commands={"npm": ["test", "build"]},
        start_command=["npm", "start"],
    )  # fmt: skip


def test_repos_save_list_status_reimport_and_delete(store: StateStore) -> None:
    saved = repos.save_imported(store, a_repo())
    assert saved.commands == {"npm": ["test", "build"]} and saved.build_systems == ["npm", "make"]
    assert (saved.restart_policy, saved.restart_limit, saved.restart_count) == ("never", None, 0)
    repos.set_build_status(store, saved.id, "Built", log_tail="ok", finished=True)
    running = repos.set_service(
        store, saved.id, "Running", pid=42, port=8080, command=["npm", "start"], started=True
    )
    assert running.started_at is not None and running.last_built is not None
    # A re-import refreshes the source's metadata and keeps the running system's state.
    again = repos.save_imported(store, a_repo(commit="c2"))
    assert (again.commit, again.service_status, again.pid, again.build_status) == (
        "c2", "Running", 42, "Built",
    )  # fmt: skip
    repos.save_imported(store, a_repo("0123456789"))
    assert [record.id for record in repos.list_repos(store)] == [saved.id, "0123456789"]
    assert repos.delete_repo(store, saved.id).commit == "c2"
    assert repos.find_repo(store, saved.id) is None
    with pytest.raises(NotFound):
        repos.set_build_status(store, saved.id, "Building")
    assert [record.id for record in repos.list_repos(store)] == ["0123456789"]


def test_restart_policy_count_and_reset(store: StateStore) -> None:
    repo_id = repos.save_imported(store, a_repo()).id
    record = repos.set_restart_policy(store, repo_id, "on-failure", 3)
    assert (record.restart_policy, record.restart_limit, record.restart_count) == ("on-failure", 3, 0)
    assert [repos.count_restart(store, repo_id) for _ in range(3)] == [1, 2, 3]
    assert repos.get_repo(store, repo_id).restart_count == 3
    repos.reset_restarts(store, repo_id)
    assert repos.get_repo(store, repo_id).restart_count == 0
    assert repos.set_restart_policy(store, repo_id, "never", None).restart_limit is None
    with pytest.raises(UsageError):
        repos.set_restart_policy(store, repo_id, "always", None)
    with pytest.raises(UsageError):
        repos.set_restart_policy(store, repo_id, "on-failure", -1)
    for unknown in (
        lambda: repos.set_restart_policy(store, "ffffffffff", "never", None),
        lambda: repos.count_restart(store, "ffffffffff"),
        lambda: repos.reset_restarts(store, "ffffffffff"),
    ):
        with pytest.raises(NotFound):
            unknown()


COUNTER = textwrap.dedent(
    """
    import json, sys
    from phoenix.settings import load_settings
    from phoenix.store import open_store, repos

    store = open_store(load_settings(json.loads(sys.argv[1])))
    counts = [repos.count_restart(store, sys.argv[2]) for _ in range(int(sys.argv[3]))]
    print(json.dumps(counts))
    """
)


def settings_environment(store: StateStore, home: Path) -> dict[str, str]:
    if isinstance(store, LakeStore):
        return {
            "PHOENIX_HOME": str(home),
            "PHOENIX_STORE_URL": store.url,
            "PHOENIX_STORE_DATA_PATH": store.data_path,
        }
    assert isinstance(store, Store)
    return {"PHOENIX_HOME": str(store.path.parent)}


def test_restarts_counted_by_processes_at_once_are_each_counted_once(
    store: StateStore, tmp_path: Path
) -> None:
    repo_id = repos.save_imported(store, a_repo()).id
    environment = json.dumps(settings_environment(store, tmp_path / "home"))
    counters = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER, environment, repo_id, "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(4)
    ]
    seen: list[int] = []
    for counter in counters:
        out, err = counter.communicate(timeout=300)
        assert counter.returncode == 0, err
        seen += json.loads(out)
    assert sorted(seen) == list(range(1, 41))  # every count returned exactly once
    assert repos.get_repo(store, repo_id).restart_count == 40


# --- only the shared store ------------------------------------------------------------------------


def test_a_key_two_processes_inserted_at_once_reads_as_one(lake_env: dict[str, str]) -> None:
    """Pure inserts never conflict in DuckLake, so two new rows of one key can both commit.

    Reproduced deterministically with two attached DuckDB instances (as two processes would be):
    both MERGE the same new key, both commit.  The newer commit is what every read sees.
    """
    store = lake_of(lake_env)
    kv.store_value(store, "other", "x")  # migrated
    first, second = store._attach(), store._attach()
    for database in (first, second):
        database.execute("USE phoenix_lake")
        database.begin()
    upsert = (
        "MERGE INTO kv_memory USING (SELECT 'twin' AS key, ? AS value) AS new"
        " ON kv_memory.key = new.key WHEN MATCHED THEN UPDATE SET value = new.value"
        " WHEN NOT MATCHED THEN INSERT (key, value) VALUES (new.key, new.value)"
    )
    first.execute(upsert, ["from first"])
    second.execute(upsert, ["from second"])
    second.commit()
    first.commit()  # committed last: the newest
    raw = store.read(lambda c: c.execute("SELECT count(*) FROM kv_memory WHERE key = 'twin'").fetchone())
    assert raw == (2,)
    assert kv.get_value(store, "twin").value == "from first"
    assert kv.count_items(store) == 2
    assert [item.value for item in kv.search(store, "twin").items] == ["from first"]
    kv.store_value(store, "twin", "replaced")
    assert [item.value for item in kv.search(store, "twin").items] == ["replaced"]
    assert kv.delete_value(store, "twin").value == "replaced"
    with pytest.raises(NotFound):
        kv.get_value(store, "twin")
    for database in (first, second):
        database.close()


WRITER = textwrap.dedent(
    """
    import json, sys
    from phoenix.settings import load_settings
    from phoenix.store import open_store
    from phoenix.store import memory as kv

    store = open_store(load_settings(json.loads(sys.argv[1])))
    name, count, shared = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print("ready", flush=True)
    sys.stdin.readline()  # the test starts every writer at once
    for i in range(count):
        kv.store_value(store, f"{name}/{i}", f"value {i} from {name}")
        if i % 10 == 0:  # now and then a key every writer writes
            kv.store_value(store, f"shared/{i // 10 % shared}", f"{name} {i}")
            assert kv.get_value(store, f"{name}/{i}").value == f"value {i} from {name}"
    print("done", name, flush=True)
    """
)


def run_together(scripts: list[list[str]], timeout_s: float) -> list[str]:
    """Run `python -c SCRIPT ARGS...` for each entry, released at the same moment; their stdouts.

    Each script prints "ready" once set up and waits for a line on stdin, so start-up (imports,
    attaching the catalog) is behind every one of them before any begins the work under test.
    """
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", *script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for script in scripts
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=timeout_s)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def test_eight_processes_writing_at_once_lose_nothing(lake_env: dict[str, str]) -> None:
    store = lake_of(lake_env)
    kv.store_value(store, "warm", "migrated before the writers start")
    environment = json.dumps(lake_env)
    outputs = run_together([[WRITER, environment, f"w{n}", "200", "5"] for n in range(8)], timeout_s=600)
    # Each writer said it finished (whatever else a library may have printed on its stdout).
    assert all(f"done w{n}" in out for n, out in enumerate(outputs)), outputs
    assert kv.count_items(store) == 8 * 200 + 5 + 1
    stored = dict(
        store.read(
            lambda c: c.execute(
                f"SELECT key, value FROM {store.current('kv_memory')}"  # noqa: S608
            ).fetchall()
        )
    )
    for n in range(8):
        for i in range(200):
            assert stored[f"w{n}/{i}"] == f"value {i} from w{n}"
    for j in range(5):
        writer_name, index = stored[f"shared/{j}"].split()
        assert writer_name in {f"w{n}" for n in range(8)} and int(index) // 10 % 5 == j


MIGRATOR = textwrap.dedent(
    """
    import json, sys
    from phoenix.settings import load_settings
    from phoenix.store import open_store
    from phoenix.store.schema import current_version

    settings = load_settings(json.loads(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.readline()
    print(open_store(settings).read(current_version), flush=True)
    """
)


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_migrating_a_fresh_catalog_at_once(lake_env: dict[str, str], attempt: int) -> None:
    environment = json.dumps(lake_env)
    outputs = run_together([[MIGRATOR, environment] for _ in range(2)], timeout_s=120)
    assert [int(out.strip()) for out in outputs] == [LATEST_VERSION] * 2
    store = lake_of(lake_env)
    applied = store.read(
        lambda c: c.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    )
    assert [row[0] for row in applied] == list(range(1, LATEST_VERSION + 1))  # each exactly once
    columns = store.read(lambda c: [row[0] for row in c.execute("DESCRIBE repos").fetchall()])
    assert columns.count("restart_count") == 1 and columns[-3:] == [
        "restart_policy", "restart_limit", "restart_count",
    ]  # fmt: skip


def test_a_file_store_from_before_migration_4_gains_the_restart_columns(tmp_path: Path) -> None:
    path = tmp_path / "phoenix.duckdb"
    from phoenix.store.schema import MIGRATIONS

    old = duckdb.connect(str(path))
    old.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    for number, description, sql in MIGRATIONS[:3]:
        old.execute(sql)
        old.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [number, description])
    old.execute("INSERT INTO repos (id, name, url, local_path) VALUES ('abcdef0123', 'x', 'u', '/p')")
    old.close()
    record = repos.get_repo(Store(path), "abcdef0123")
    assert (record.restart_policy, record.restart_limit, record.restart_count) == ("never", None, 0)
    assert repos.count_restart(Store(path), "abcdef0123") == 1


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://db/phoenix", "ducklake:postgres:"),
        ("ducklake:postgres:", "ducklake:postgres:"),
        ("ducklake:sqlite:/tmp/x.sqlite", "ducklake:postgres:"),
        ("ducklake:postgres:dbname=p user=u password=hunter2", "PGPASSWORD"),
        ("ducklake:postgres:postgresql://u:hunter2@db/p", "PGPASSWORD"),
    ],
)
def test_a_bad_store_url_is_a_settings_error_without_the_password(url: str, says: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"PHOENIX_STORE_URL": url})
    assert "PHOENIX_STORE_URL" in str(raised.value) and says in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_the_cli_exits_2_on_a_bad_store_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [PHOENIX, "--json", "memory", "get", "k"],
        env={
            "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PHOENIX_HOME": str(tmp_path / "h"),
            "PHOENIX_STORE_URL": "ducklake:postgres:dbname=p password=hunter2",
        },
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    reply = json.loads(done.stdout)
    assert "PHOENIX_STORE_URL" in reply["message"]
    assert "hunter2" not in done.stdout + done.stderr


def test_errors_never_carry_the_password() -> None:
    text = "connection to 'dbname=p password=s3cret host=h' failed; postgresql://u:s3cret@h/p"
    masked = mask_secrets(text)
    assert "s3cret" not in masked and "password=***" in masked and "postgresql://u:***@h" in masked
    assert mask_secrets("password='two words' user=u") == "password=*** user=u"


def test_an_unreachable_catalog_is_store_unavailable(tmp_path: Path) -> None:
    from tests.postgres_server import free_port

    store = LakeStore(
        f"ducklake:postgres:dbname=p host=127.0.0.1 port={free_port()} user=phoenix",
        str(tmp_path / "data"),
    )
    with pytest.raises(StoreUnavailable) as raised:
        kv.count_items(store)
    assert "Could not open the shared store" in raised.value.message
    assert raised.value.http_status == 503


def test_without_the_extension_packages_the_error_says_what_to_install(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["duckdb_extension_ducklake"] = None  # as if the extra were not installed
        from phoenix.store.lake import LakeStore, StoreUnavailable
        try:
            LakeStore("ducklake:postgres:dbname=p", sys.argv[1]).read(lambda c: None)
        except StoreUnavailable as error:
            print(error.message)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert "pip install 'phoenix-orchestrator[shared-store]'" in done.stdout, done.stderr


# --- two machines through the CLI -----------------------------------------------------------------


@pytest.fixture
def two_machines(
    tmp_path_factory: pytest.TempPathFactory,
    chat_server_url: str,
    postgres_server: PostgresServer,
) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Two PHOENIX_HOMEs sharing one catalog and data path: machine A through its local service,
    machine B running flows in the command's own process."""
    shared = lake_environment(postgres_server, tmp_path_factory.mktemp("lake-data"))
    with (
        cli_environment(tmp_path_factory, chat_server_url, "lake-a", **shared) as first,
        cli_environment(
            tmp_path_factory, chat_server_url, "lake-b", PHOENIX_CLI_IN_PROCESS="1", **shared
        ) as second,
    ):
        yield first, second


def phoenix(env: dict[str, str], *arguments: str) -> tuple[int, Any]:
    done = subprocess.run(
        [PHOENIX, "--json", *arguments], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_two_machines_share_memory_through_the_cli(
    two_machines: tuple[dict[str, str], dict[str, str]],
) -> None:
    first, second = two_machines
    key = f"shared/{uuid.uuid4().hex[:6]}"
    assert phoenix(first, "memory", "store", key, "written on A") == (
        0, {"key": key, "value": "written on A"},
    )  # fmt: skip
    assert phoenix(second, "memory", "get", key) == (0, {"key": key, "value": "written on A"})
    assert phoenix(second, "memory", "store", key, "replaced on B")[0] == 0
    assert phoenix(first, "memory", "get", key)[1]["value"] == "replaced on B"
    assert phoenix(first, "memory", "delete", key)[0] == 0
    code, reply = phoenix(second, "memory", "get", key)
    assert code == 1 and reply["code"] == "not_found"
    # Neither machine wrote a DuckDB file of its own: the state is in the lake.
    assert not (Path(first["PHOENIX_HOME"]) / "phoenix.duckdb").exists()
    assert not (Path(second["PHOENIX_HOME"]) / "phoenix.duckdb").exists()
