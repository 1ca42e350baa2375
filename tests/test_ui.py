"""The Prefect UI of Phoenix's own server, in a real browser (headless Chromium).

The session's Prefect server is the one Phoenix starts (`phoenix.prefect_server`), on a free port.
Its UI must reach its API there — not at Prefect's default port 4200 — and show a finished propose
run with its proposals table.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows import run_flow
from phoenix.prefect_server import ui_url
from tests.conftest import ChatServer, require_tool


class _Text(HTMLParser):
    """The text a person sees in a rendered page (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def rendered_text(url: str, profile: Path) -> str:
    """The text of `url` once Chromium has run its scripts (the UI is a single-page app)."""
    done = subprocess.run(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",  # the tests may run as root
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parser = _Text()
    parser.feed(done.stdout)
    return " ".join(" ".join(parser.parts).split())


def _artifact_id(run_id: str) -> str:
    async def read() -> Any:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )

    artifacts = asyncio.run(read())
    assert [artifact.type for artifact in artifacts] == ["table"]
    return str(artifacts[0].id)


def test_the_ui_shows_a_finished_propose_run_and_its_proposals_table(
    chat: ChatServer, tmp_path: Path
) -> None:
    require_tool("chromium")
    run = run_flow("propose-improvements", {"seed": "a recipe planner", "n": 3})
    assert run["succeeded"] == 3
    ui = ui_url(os.environ["PREFECT_API_URL"])
    assert not ui.endswith(":4200"), "the session's server runs on a port of its own"

    page = rendered_text(f"{ui}/v2/runs/flow-run/{run['run_id']}?tab=Artifacts", tmp_path / "a")
    assert "Can't connect" not in page
    assert "propose-improvements" in page and "Completed" in page
    assert "3 of 3 ORCH sub-agents proposed an improvement for a recipe planner" in page

    table = rendered_text(f"{ui}/v2/artifacts/artifact/{_artifact_id(run['run_id'])}", tmp_path / "b")
    assert "Can't connect" not in table
    for result in run["results"]:
        assert result["angle"] in table
        assert " ".join(result["proposal"].split()) in table
