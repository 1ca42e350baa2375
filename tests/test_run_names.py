"""Flow runs are named for what ran, as the Prefect UI lists them — and never carry a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.sorting import FlowRunSort

from flows import run_flow
from flows.run_names import shorten
from tests.conftest import ChatServer, make_git_repo


def latest_run_name(flow_name: str) -> str:
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=1,
        )
    return run.name


def test_a_propose_run_says_its_seed_and_size(chat: ChatServer) -> None:
    run_flow("propose-improvements", {"seed": "caching", "n": 2})
    assert latest_run_name("propose-improvements") == "propose: caching x2"


def test_router_memory_and_ecosystem_runs_say_what_they_did(phoenix_home: Path) -> None:
    run_flow("router", {"command": "memory store colour a-private-value"})
    assert latest_run_name("router") == "router: memory store colour a-private-value"
    assert latest_run_name("memory") == "memory store: colour"  # the value stays out
    run_flow("ecosystem-command", {"command": "list"})
    assert latest_run_name("ecosystem-command") == "ecosystem list"


def test_an_import_run_names_the_repository_without_its_credentials(
    phoenix_home: Path, tmp_path: Path
) -> None:
    repo = make_git_repo(tmp_path / "webapp", {"Makefile": "all:\n\t@true\n"})
    run_flow("import-and-build-repo", {"source": str(repo), "build": False})
    assert latest_run_name("import-and-build-repo") == "import: webapp"

    # The flow itself gets a URL with a token (as from the UI); the name must not show it.
    from flows.ecosystem import import_and_build_repo
    from phoenix.errors import PhoenixError

    with pytest.raises(PhoenixError):
        import_and_build_repo(source="https://tok-3c9e@127.0.0.1:9/acme/webapp.git")
    name = latest_run_name("import-and-build-repo")
    assert name == "import and build: webapp" and "tok-3c9e" not in name


def test_long_text_is_cut_to_one_short_line() -> None:
    assert shorten("a\nvery   long\tseed " * 10) == "a very long seed a very long seed a ver…"
    assert len(shorten("x" * 100)) == 40
