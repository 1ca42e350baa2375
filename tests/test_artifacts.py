"""What the Prefect UI shows without logs: the flows run for real, their artifacts read back from
Prefect's API.

Propose runs against the scripted chat server; the ecosystem imports local git repositories (one over
git's smart HTTP with a password in its URL), builds them with make and runs a Python web server as
a service.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    ArtifactFilterType,
)
from prefect.client.schemas.objects import Artifact
from prefect.client.schemas.sorting import ArtifactSort

from flows import run_flow
from phoenix.errors import NotFound
from phoenix.store import open_store
from phoenix.store import repos as repo_store
from phoenix.store.repos import RepoRecord
from tasks.artifacts import REPOS_KEY, build_key, service_key
from tasks.proposals import PROGRESS_KEY, PROGRESS_STEPS, progress_due
from tests.conftest import ChatServer, make_git_repo, require_tool, wait_for
from tests.git_http import GitHTTPServer


def artifacts(
    *, key: str | None = None, run_id: str | None = None, kind: str | None = None
) -> list[Artifact]:
    """Artifacts as Prefect's API returns them, newest first."""
    artifact_filter = ArtifactFilter(
        key=ArtifactFilterKey(any_=[key]) if key else None,
        flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(run_id)]) if run_id else None,
        type=ArtifactFilterType(any_=[kind]) if kind else None,
    )
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=artifact_filter, sort=ArtifactSort.CREATED_DESC)


def latest(key: str) -> Artifact:
    """The newest version under `key`: what the Artifacts page shows for it."""
    found = artifacts(key=key)
    assert found, f"no artifact under {key!r}"
    return found[0]


def table_rows(artifact: Artifact) -> list[dict[str, Any]]:
    assert artifact.type == "table"
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


def ecosystem(command: str, repo_id: str | None = None, *args: str) -> dict[str, Any]:
    return run_flow("ecosystem-command", {"command": command, "repo_id": repo_id, "args": list(args)})


# --- propose-improvements --------------------------------------------------------------------------


def test_a_propose_run_shows_its_progress_moving_to_100(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two calls at a time, 0.4 s each: six ORCHs finish in three waves the test can see.
    monkeypatch.setenv("PHOENIX_LLM_CONCURRENCY", "2")
    chat.control(latency_s=0.4)
    before = {artifact.id for artifact in artifacts(key=PROGRESS_KEY)}

    def midway() -> float | None:
        for artifact in artifacts(key=PROGRESS_KEY):
            if artifact.id not in before and 0 < float(artifact.data) < 100:
                return float(artifact.data)
        return None

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_flow, "propose-improvements", {"seed": "a kanban", "n": 6})
        seen = wait_for(midway, timeout_s=60)
        result = running.result(timeout=120)
    assert result["succeeded"] == 6
    assert seen in (round(100 * k / 6, 1) for k in range(1, 6))

    made = artifacts(run_id=result["run_id"])
    progress = next(a for a in made if a.type == "progress")
    assert progress.key == PROGRESS_KEY
    assert float(progress.data) == 100.0
    assert progress.description == "6 of 6 ORCH sub-agents finished"
    table = next(a for a in made if a.type == "table")
    assert table.key == "propose-improvements"
    assert [row["orch"] for row in table_rows(table)] == list(range(6))
    assert all("sk-test-secret" not in str(a.data) + str(a.description) for a in made)


@pytest.mark.parametrize("n", [1, 5, 20, 21, 100, 512])
def test_progress_moves_at_most_twenty_times_and_always_ends_the_run(n: int) -> None:
    due = [done for done in range(1, n + 1) if progress_due(done, n)]
    assert len(due) == min(n, PROGRESS_STEPS)
    assert due[-1] == n


# --- the ecosystem ---------------------------------------------------------------------------------

GATED_MAKEFILE = (
    "all:\n"
    '\t@echo "compiling the widget"\n'
    '\t@test "$$FLAG" = ok || (echo "FLAG is not ok" >&2; exit 3)\n'
    '\t@echo "widget built"\n'
)


@pytest.fixture
def gated_repo(phoenix_home: Path, tmp_path: Path) -> dict[str, Any]:
    """A make project that builds only once its repository variable FLAG is `ok`, imported."""
    repo = make_git_repo(tmp_path / "widget", {"Makefile": GATED_MAKEFILE})
    return run_flow("import-and-build-repo", {"source": str(repo), "build": False})


def test_each_build_leaves_a_report_under_its_repository_key(gated_repo: dict[str, Any]) -> None:
    repo_id = gated_repo["id"]
    failed = ecosystem("build", repo_id)
    assert failed["build_status"] == "BuildFailed"
    report = latest(build_key(repo_id))
    assert report.type == "markdown"
    text = str(report.data)
    assert "# Build of widget: BuildFailed" in text
    assert "| Build system | `make` |" in text
    assert "## Error" in text and failed["build_error"] in text
    assert "compiling the widget" in text and "FLAG is not ok" in text  # the log's tail
    assert "| Duration |" in text

    ecosystem("env", repo_id, "FLAG=ok", "TOKEN=sk-repo-variable-secret")
    built = ecosystem("build", repo_id)
    assert built["build_status"] == "Built", built["build_error"]
    newest = latest(build_key(repo_id))
    text = str(newest.data)
    assert "# Build of widget: Built" in text and "widget built" in text
    assert "## Error" not in text
    assert newest.description.startswith(f"widget ({repo_id}): Built in ")
    versions = artifacts(key=build_key(repo_id))
    assert len(versions) == 2  # the key's page keeps the history, newest first
    assert all("sk-repo-variable-secret" not in str(v.data) for v in versions)


def test_the_repositories_table_follows_imports_builds_and_removals(
    phoenix_home: Path, tmp_path: Path
) -> None:
    first = run_flow("import-and-build-repo", {
        "source": str(make_git_repo(tmp_path / "alpha", {"Makefile": "all:\n\t@echo a\n"})),
    })  # fmt: skip
    rows = {row["id"]: row for row in table_rows(latest(REPOS_KEY))}
    assert rows[first["id"]] == {
        "id": first["id"], "name": "alpha", "url": first["url"], "branch": "main",
        "build_status": "Built", "service_status": "Stopped", "port": None,
    }  # fmt: skip
    second = run_flow("import-and-build-repo", {
        "source": str(make_git_repo(tmp_path / "beta", {"Makefile": "all:\n\t@echo b\n"})),
        "build": False,
    })  # fmt: skip
    listed = [(row["id"], row["build_status"]) for row in table_rows(latest(REPOS_KEY))]
    assert listed == [(first["id"], "Built"), (second["id"], "NotBuilt")]
    ecosystem("remove", first["id"])
    assert [row["id"] for row in table_rows(latest(REPOS_KEY))] == [second["id"]]
    assert latest(REPOS_KEY).description.startswith("1 imported repositories")


def test_no_credential_of_an_imported_url_reaches_an_artifact(
    phoenix_home: Path, tmp_path: Path
) -> None:
    require_tool("git")
    repo = make_git_repo(tmp_path / "private", {"Makefile": "all:\n\t@echo private build\n"})
    root = tmp_path / "served"
    root.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(root / "private.git")], check=True)
    server = GitHTTPServer(root, credentials=("alice", "pw-never-shown"))
    try:
        url = f"http://alice:pw-never-shown@127.0.0.1:{server.port}/private.git"
        record = run_flow("import-and-build-repo", {"source": url})
    finally:
        server.close()
    assert record["build_status"] == "Built"
    shown = [latest(build_key(record["id"])), latest(REPOS_KEY)]
    assert "private build" in str(shown[0].data)
    row = next(r for r in table_rows(shown[1]) if r["id"] == record["id"])
    assert row["url"] == f"http://127.0.0.1:{server.port}/private.git"
    # A record kept from before URLs were cleaned on import is shown without its credential too.
    legacy_url = "https://bob:pw-of-an-old-record@forge.example/acme/old.git"
    repo_store.save_imported(open_store(), RepoRecord(
        id="0123456789", name="old", url=legacy_url, local_path=str(tmp_path / "old"),
    ))  # fmt: skip
    ecosystem("list")
    shown.append(latest(REPOS_KEY))
    legacy = next(r for r in table_rows(shown[-1]) if r["id"] == "0123456789")
    assert legacy["url"] == "https://forge.example/acme/old.git"
    for artifact in shown:
        text = f"{artifact.data} {artifact.description}"
        assert "pw-never-shown" not in text and "pw-of-an-old-record" not in text
        assert "alice" not in text and "bob" not in text


@pytest.fixture
def web_repo(phoenix_home: Path, tmp_path: Path) -> dict[str, Any]:
    """A repository whose service is Python's own web server on $PORT, imported."""
    require_tool("python3")
    repo = make_git_repo(tmp_path / "site", {
        "Procfile": "web: python3 -m http.server $PORT --bind 127.0.0.1\n",
        "index.html": "hello\n",
    })  # fmt: skip
    record = run_flow("import-and-build-repo", {"source": str(repo), "build": False})
    yield record
    with contextlib.suppress(NotFound):
        ecosystem("stop", record["id"])


def test_a_service_shows_its_status_and_a_link_while_it_runs(web_repo: dict[str, Any]) -> None:
    repo_id = web_repo["id"]
    started = ecosystem("start", repo_id)
    port = started["port"]
    url = f"http://127.0.0.1:{port}"
    status = latest(service_key(repo_id))
    assert status.type == "markdown"
    assert "# Service of site: Running" in str(status.data)
    assert f"[{url}]({url})" in str(status.data)
    assert f"`python3 -m http.server {port} --bind 127.0.0.1`" in str(status.data)
    # Prefect keeps a link artifact as markdown: one link, on the run that started the service.
    link = next(a for a in artifacts(kind="markdown") if a.data == f"[site on {url}]({url})")
    assert link.key is None and link.flow_run_id == status.flow_run_id
    row = next(r for r in table_rows(latest(REPOS_KEY)) if r["id"] == repo_id)
    assert (row["service_status"], row["port"]) == ("Running", port)

    assert ecosystem("status", repo_id)["service_status"] == "Running"
    assert len(artifacts(key=service_key(repo_id))) == 2

    ecosystem("stop", repo_id)
    stopped = str(latest(service_key(repo_id)).data)
    assert "# Service of site: Stopped" in stopped and url not in stopped
    row = next(r for r in table_rows(latest(REPOS_KEY)) if r["id"] == repo_id)
    assert (row["service_status"], row["port"]) == ("Stopped", None)
