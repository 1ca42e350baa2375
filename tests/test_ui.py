"""The Prefect UI of Phoenix's own server, in a real browser (headless Chromium).

The session's Prefect server is the one Phoenix starts (`phoenix.prefect_server`), on a free port.
Its UI must reach its API there — not at Prefect's default port 4200 — and show a finished propose
run with its proposals table, and a build report as the markdown it is.  A screenshot of the run's
page is kept under tests/artifacts/ (CI uploads that folder) for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows import run_flow
from phoenix.prefect_server import ui_url
from tasks.artifacts import build_key
from tests.conftest import ChatServer, make_git_repo, require_tool

SCREENSHOTS = Path(__file__).parent / "artifacts"
"""Kept after the session (git ignores it): CI uploads it as a build artifact."""

WINDOW = (1400, 1000)


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


def chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a profile of its own, once the page's scripts had 20 s to run."""
    done = subprocess.run(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",  # the tests may run as root
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def rendered_text(url: str, profile: Path) -> str:
    """The text of `url` once Chromium has run its scripts (the UI is a single-page app)."""
    done = chromium(profile, "--dump-dom", url)
    parser = _Text()
    parser.feed(done.stdout)
    return " ".join(" ".join(parser.parts).split())


def screenshot(url: str, path: Path, profile: Path) -> Path:
    """A PNG of `url` as a person sees it in a 1400×1000 window."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    chromium(profile, f"--screenshot={path}", f"--window-size={WINDOW[0]},{WINDOW[1]}", url)
    return path


def png_summary(path: Path) -> tuple[int, int, int]:
    """Width, height and how many distinct byte values its pixels hold (a blank page: a handful)."""
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    pixels, position = b"", 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            pixels += data[position + 8 : position + 8 + length]
        position += 12 + length
    return width, height, len(set(zlib.decompress(pixels)))


def _artifact_id(run_id: str) -> str:
    async def read() -> Any:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )

    artifacts = {artifact.type: artifact for artifact in asyncio.run(read())}
    assert sorted(artifacts) == ["markdown", "progress", "table"]  # markdown: the ranked ideas
    return str(artifacts["table"].id)


def _latest_id(key: str) -> str:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, f"no artifact under {key!r}"
    return str(found[0].id)


def test_the_ui_shows_a_finished_propose_run_and_its_proposals_table(
    chat: ChatServer, tmp_path: Path
) -> None:
    require_tool("chromium")
    run = run_flow("propose-improvements", {"seed": "a recipe planner", "n": 3})
    assert run["succeeded"] == 3
    ui = ui_url(os.environ["PREFECT_API_URL"])
    assert not ui.endswith(":4200"), "the session's server runs on a port of its own"

    run_page = f"{ui}/v2/runs/flow-run/{run['run_id']}?tab=Artifacts"
    page = rendered_text(run_page, tmp_path / "a")
    assert "Can't connect" not in page
    assert "propose-improvements" in page and "Completed" in page
    assert "3 of 3 ORCH sub-agents proposed an improvement for a recipe planner" in page
    assert "3 of 3 ORCH sub-agents finished" in page  # the progress artifact

    shot = screenshot(run_page, SCREENSHOTS / "propose-run.png", tmp_path / "shot")
    width, height, shades = png_summary(shot)
    assert (width, height) == WINDOW
    assert shot.stat().st_size > 20_000 and shades > 100, "the screenshot looks blank"

    table = rendered_text(f"{ui}/v2/artifacts/artifact/{_artifact_id(run['run_id'])}", tmp_path / "b")
    assert "Can't connect" not in table
    for result in run["results"]:
        assert result["angle"] in table
        assert " ".join(result["proposal"].split()) in table


def test_the_ui_renders_a_build_report_by_its_key(phoenix_home: Path, tmp_path: Path) -> None:
    require_tool("chromium", "make")
    repo = make_git_repo(tmp_path / "gadget", {
        "Makefile": "all:\n\t@echo linking the gadget\n\t@echo gadget ready\n",
    })  # fmt: skip
    record = run_flow("import-and-build-repo", {"source": str(repo)})
    assert record["build_status"] == "Built"
    ui = ui_url(os.environ["PREFECT_API_URL"])

    key = build_key(record["id"])
    listed = rendered_text(f"{ui}/v2/artifacts/key/{key}", tmp_path / "a")
    assert "Can't connect" not in listed
    assert f"gadget ({record['id']}): Built in" in listed  # the key's page: its latest build

    report = rendered_text(f"{ui}/v2/artifacts/artifact/{_latest_id(key)}", tmp_path / "b")
    # The markdown rendered: heading and table cells as text, no `|` between them.
    assert "Build of gadget: Built Status Built Repository" in report
    assert "Build system make Steps make Duration" in report
    assert "linking the gadget" in report and "gadget ready" in report
