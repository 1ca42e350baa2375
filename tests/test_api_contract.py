"""The HTTP API keeps the contract its OpenAPI document states, as schemathesis tests it.

Schemathesis generates requests from `/openapi.json` (valid ones and ones the schema forbids) and
runs its default checks on every answer: no server error, only documented statuses, bodies and
headers that match their schemas, schema-valid data accepted and invalid data refused, and 405s
whose `Allow` header names the documented methods.  It runs against a real `phoenix api` process
whose LLM is the scripted chat server, so each request runs its real Prefect flow.

Excluded are only the routes that clone or build: importing (`/api/ecosystem/import`, and
`/api/flows/{name}/run`, which can run the import flow), `/api/ecosystem/{repo_id}/build` and
`/api/agents/spawn`.  The pulls routes run against the home's local forge, stopped at the end.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_api import TOKEN, start_api, stop_api

EXCLUDED = (
    "/api/ecosystem/import", "/api/flows/{name}/run", "/api/ecosystem/{repo_id}/build",
    "/api/agents/spawn",  # the LLM and cargo test; a name with no letters is a 400 by meaning
)  # fmt: skip
MAX_EXAMPLES = 5
"""Per operation and phase; each request may run a flow, and the whole run stays near a minute."""


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("contract")
    process, base = start_api(
        folder / "home",
        folder,
        {
            "PHOENIX_LLM_MODEL": "openai/scripted",
            "PHOENIX_LLM_API_BASE": f"{chat_server_url}/v1",
            "PHOENIX_LLM_API_KEY": "sk-contract-secret",
            "PHOENIX_ORCH_RETRIES": "0",
            "PHOENIX_LLM_TIMEOUT": "10",
        },
    )
    yield base
    stop_api(process)
    from phoenix.forge.server import stop_forge  # the pulls routes started the home's forge
    from phoenix.settings import load_settings

    stop_forge(load_settings({"PHOENIX_HOME": str(folder / "home")}))


def test_schemathesis_finds_nothing(api_url: str, tmp_path: Path) -> None:
    exclusions = [argument for path in EXCLUDED for argument in ("--exclude-path", path)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{api_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            *exclusions,
            "--phases",
            "examples,coverage,fuzzing",  # stateful: no links, nothing to chain
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "7",
            # One worker: Python 3.11's ast.parse, which Hypothesis calls, is not thread-safe.
            "--workers",
            "1",
            "--request-timeout",
            "60",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    summary = done.stdout[-6000:]
    assert done.returncode == 0, summary
    assert "28 selected / 32 total" in done.stdout, summary
    assert " passed" in summary and "failed" not in summary.split("SUMMARY")[-1], summary
