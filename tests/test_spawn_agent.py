"""`phoenix spawn` end to end, the way a person uses it: a scripted LLM writes the code, cargo tests
it, the local forge (real HTTP, git, its own CI runner) gets the repository and the pull request,
the enforcer waits (Paused in Prefect) until CI is green and the reviewer approves, then merges.

Slow by nature (cargo builds tokio twice: Phoenix's test and the forge's CI), so the module shares
one PHOENIX_HOME, and the long path is one test that checks each step as it goes.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import PHOENIX, ChatServer, cli_environment, require_tool, wait_for

GOOD = (
    "Here is the module:\n```rust\nuse std::time::Duration;\n\npub async fn run() {\n"
    '    tokio::time::sleep(Duration::from_millis(1)).await;\n    println!("weather: sunny");\n}\n```\n'
)
BAD = 'pub async fn run() {\n    let temperature: u32 = "warm";\n}\n'
SCAFFOLD = (
    "Cargo.toml", "README.md", "agent.json", "TEST_REPORT.md", ".gitignore", "src/main.rs",
    "src/lib.rs", "src/generated.rs", "tests/smoke.rs", ".github/workflows/ci-tests.yml",
    ".github/workflows/build-deploy.yml", ".github/workflows/marketplace.yml",
)  # fmt: skip


@pytest.fixture(scope="module")
def spawn_env(
    tmp_path_factory: pytest.TempPathFactory, chat_server_url: str
) -> Iterator[dict[str, str]]:
    require_tool("git", "cargo")
    from phoenix.forge.server import stop_forge
    from phoenix.settings import load_settings

    with cli_environment(
        tmp_path_factory, chat_server_url, "spawn", MANDATE_GITHUB_CI="true",
        PHOENIX_PR_WATCH_SECONDS="1", PHOENIX_LLM_TIMEOUT="20",
    ) as env:  # fmt: skip
        env.pop("GITHUB_PAT", None)
        try:
            yield env
        finally:
            stop_forge(load_settings({"PHOENIX_HOME": env["PHOENIX_HOME"]}))


def phoenix(
    env: dict[str, str], *arguments: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PHOENIX, *arguments], env=env, capture_output=True, text=True, timeout=timeout,
        cwd=Path(env["PHOENIX_HOME"]).parent,  # not the checkout: as a person types it anywhere
    )  # fmt: skip


def as_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(done.stdout)


def forge_tokens(env: dict[str, str]) -> dict[str, str]:
    return json.loads((Path(env["PHOENIX_HOME"]) / "forge" / "credentials.json").read_text())


def bot_client(env: dict[str, str]) -> Any:
    """PyGithub as the bot (the forge started if a spawn has not)."""
    from phoenix.github.access import local_forge_access
    from phoenix.github.client import connect
    from phoenix.settings import load_settings

    access = local_forge_access(load_settings({"PHOENIX_HOME": env["PHOENIX_HOME"]}))
    return connect(access.api_url, access.token)


def bot_repo(env: dict[str, str], name: str) -> Any:
    return bot_client(env).get_repo(f"phoenix-agents/{name}")


def test_an_agent_is_repaired_tested_published_and_merged_once_ci_and_the_reviewer_allow(
    spawn_env: dict[str, str], chat_server_url: str, tmp_path: Path
) -> None:
    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(replies=[BAD, GOOD])

    done = phoenix(spawn_env, "spawn", "Météo / Bot 2: reports the weather every hour")
    assert done.returncode == 0, done.stderr
    stages = ("generate (first draft)", "cargo test (attempt 1)", "generate (repair 1)",
              "cargo test (attempt 2)", "publish (repository)", "pull request", "enforce")  # fmt: skip
    for stage in stages:
        assert f"spawn meteo-bot-2: {stage}" in done.stderr, done.stderr
    assert "Agent meteo-bot-2" in done.stdout and "awaiting_" in done.stdout, done.stdout
    assert_artifacts("meteo-bot-2")
    repair = chat.requests()[-1]["messages"]
    assert "mismatched types" in repair[-1]["content"]  # the compiler's error went back to the LLM

    agents = as_json(phoenix(spawn_env, "--json", "agents", "list"))["items"]
    assert [agent["name"] for agent in agents] == ["meteo-bot-2"]
    agent = agents[0]
    assert agent["status"] in ("awaiting_ci", "awaiting_approval"), agent
    assert agent["test_report"]["passed"] is True and agent["attempts"] == 2
    assert agent["tier"] == "free" and agent["pr_number"] == 1

    repo = bot_repo(spawn_env, "meteo-bot-2")
    assert repo.private is False
    pull = repo.get_pull(1)
    assert pull.title == "Spawn agent: meteo-bot-2" and "PASSED" in pull.body
    assert pull.head.ref == f"evolve/spawn-{agent['id']}"
    head = repo.get_commit(pull.head.sha)
    wait_for(lambda: head.get_combined_status().state == "success", timeout_s=300, interval_s=1)
    assert not repo.get_pull(1).merged  # CI alone is not enough: no one has approved
    wait_for(lambda: enforcer_states(repo.full_name) == ["PAUSED"], timeout_s=60, interval_s=0.5)

    approved = phoenix(spawn_env, "pr", "approve", f"phoenix-agents/meteo-bot-2#{pull.number}")
    assert approved.returncode == 0, approved.stderr

    def merged() -> bool:
        shown = as_json(phoenix(spawn_env, "--json", "agents", "show", agent["id"]))
        return shown["status"] == "merged"

    wait_for(merged, timeout_s=120, interval_s=1)
    assert repo.get_pull(1).merged

    clone = tmp_path / "clone"  # a public agent clones with no credentials at all
    subprocess.run(
        ["git", "clone", "-q", repo.clone_url, str(clone)], check=True, timeout=60,
        env={"PATH": os.environ["PATH"], "GIT_TERMINAL_PROMPT": "0", "HOME": str(tmp_path)},
    )  # fmt: skip
    missing = [path for path in SCAFFOLD if not (clone / path).is_file()]
    assert not missing, missing
    assert "weather: sunny" in (clone / "src" / "generated.rs").read_text()

    # The original's "resurrection": the agent's repository imported into the ecosystem, built, run.
    imported = phoenix(spawn_env, "--json", "agents", "import", agent["id"])
    assert imported.returncode == 0, imported.stderr
    record = as_json(imported)
    assert record["build_status"] == "Built" and record["agent_id"] == agent["id"], record
    ran = as_json(phoenix(spawn_env, "--json", "ecosystem", "run", record["id"], "cargo:run"))
    assert ran["exit_code"] == 0 and "weather: sunny" in ran["stdout"], ran

    # Spawning the same name again: the same agent and repository; its new code (a new report) is
    # a new pull request from the same branch, and a third spawn reuses that open one.
    for _ in range(2):
        chat.control(replies=[GOOD])
        again = as_json(
            phoenix(spawn_env, "--json", "spawn", "Météo / Bot 2: reports the weather every hour")
        )
        assert again["id"] == agent["id"] and again["status"].startswith("awaiting_"), again
        assert again["pr_number"] == 2
    organisation = bot_client(spawn_env).get_organization("phoenix-agents")
    assert [r.name for r in organisation.get_repos()] == ["meteo-bot-2"]
    assert [p.number for p in repo.get_pulls(state="all")] == [2, 1]
    assert as_json(phoenix(spawn_env, "--json", "agents", "list"))["items"][0]["id"] == agent["id"]

    assert_no_token_anywhere(spawn_env)


def assert_artifacts(name: str) -> None:
    """The run's progress artifact (finished at 100 %) and its test report, read back from Prefect's
    API as the UI's Artifacts page shows them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        progress = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"spawn-progress-{name}"]))
        )
        report = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"spawn-report-{name}"]))
        )
    assert progress and progress[0].type == "progress" and float(progress[0].data) == 100.0
    assert report and "# Test report" in str(report[0].data) and "PASSED" in str(report[0].data)


def enforcer_states(full_name: str) -> list[str]:
    """The state of each enforce-pr run of the repository: Paused while it waits (no process
    holds the wait)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["enforce-pr"])))
    return [
        run.state_type.value
        for run in runs
        if run.state_type is not None and run.parameters.get("repo") == full_name
    ]


def assert_no_token_anywhere(env: dict[str, str]) -> None:
    """Not in a file of the home (but the 0600 credentials file), a log, a DuckDB row, a Prefect
    parameter or log line, or any process's command line."""
    tokens = list(forge_tokens(env).values())
    home = Path(env["PHOENIX_HOME"])
    kept = home / "forge" / "credentials.json"
    for path in home.rglob("*"):
        if path.is_file() and path != kept and "target" not in path.parts:
            data = path.read_bytes()
            assert not any(token.encode() in data for token in tokens), path
    for process in psutil.process_iter(["cmdline", "environ"]):
        line = " ".join(process.info["cmdline"] or [])
        assert not any(token in line for token in tokens), line

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["spawn-agent", "enforce-pr"]))
        )
        assert runs
        for run in runs:
            assert not any(token in json.dumps(run.parameters, default=str) for token in tokens)
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id for run in runs]))
        )
        assert not any(token in log.message for log in logs for token in tokens)


def test_without_a_required_review_or_ci_the_agent_is_pushed_to_the_base_branch(
    spawn_env: dict[str, str], chat_server_url: str, tmp_path: Path
) -> None:
    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(replies=[GOOD])
    env = spawn_env | {"REQUIRE_HUMAN_PR_APPROVAL": "false", "MANDATE_GITHUB_CI": "false"}
    done = phoenix(env, "--json", "spawn", "--tier", "enterprise", "ledger-bot: keeps accounts")
    assert done.returncode == 0, done.stderr
    result = as_json(done)
    assert (
        result["status"] == "pushed" and result["pr_number"] is None and result["tier"] == "enterprise"
    )
    repo = bot_repo(spawn_env, "ledger-bot")
    assert repo.private is True and repo.get_pulls(state="all").totalCount == 0
    clone = tmp_path / "ledger"
    git_env = {"PATH": os.environ["PATH"], "GIT_TERMINAL_PROMPT": "0", "HOME": str(tmp_path)}
    anonymous = subprocess.run(
        ["git", "clone", "-q", repo.clone_url, str(clone)], capture_output=True, timeout=60,
        env=git_env,
    )  # fmt: skip
    assert anonymous.returncode != 0  # a private agent: no clone without credentials
    basic = base64.b64encode(f"x-access-token:{forge_tokens(spawn_env)['reviewer']}".encode())
    subprocess.run(
        ["git", "clone", "-q", "--branch", "main", repo.clone_url, str(clone)], check=True,
        timeout=60, env=git_env | {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                                   "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic.decode()}"},
    )  # fmt: skip
    missing = [path for path in SCAFFOLD if not (clone / path).is_file()]
    assert not missing, missing


def test_code_that_stays_broken_aborts_before_anything_is_created_remotely(
    spawn_env: dict[str, str], chat_server_url: str
) -> None:
    from github import UnknownObjectException

    chat = ChatServer(chat_server_url)
    chat.reset()
    chat.control(replies=[BAD, BAD, BAD])
    done = phoenix(
        spawn_env | {"PHOENIX_SPAWN_REPAIRS": "1"}, "--json", "spawn", "broken-bot: never compiles"
    )
    assert done.returncode == 1, done.stderr
    result = as_json(done)
    assert result["code"] == "spawn_aborted" and result["status"] == "aborted"
    assert result["test_report"]["passed"] is False and result["attempts"] == 2
    assert "openai/scripted" in result["message"] and "Nothing was published" in result["message"]
    assert result["repo_url"] is None and result["pr_url"] is None
    with pytest.raises(UnknownObjectException):
        bot_repo(spawn_env, "broken-bot")
    shown = as_json(phoenix(spawn_env, "--json", "agents", "show", result["id"]))
    assert shown["status"] == "aborted"

    human = phoenix(spawn_env | {"PHOENIX_SPAWN_REPAIRS": "0"}, "spawn", "broken-bot: never compiles")
    assert human.returncode == 1
    assert "Agent broken-bot" in human.stdout and "failed (exit status" in human.stdout
    assert "error: cargo test still failed after 1 attempt" in human.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["spawn", "***: does things"], "cannot name an agent"),
        (["spawn", "weather-bot:"], "has no description"),
        (["spawn", "--tier", "gold", "weather-bot: x"], "invalid choice"),
        (["agents", "show", "nope"], "No agent with id 'nope'"),
        (["pr", "approve", "not a pull"], "does not name a pull request"),
    ],
)
def test_bad_input_is_refused_clearly(
    spawn_env: dict[str, str], arguments: list[str], expected: str
) -> None:
    done = phoenix(spawn_env, *arguments, timeout=120)
    assert done.returncode in (1, 2) and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_the_embedded_model_cannot_write_rust_and_the_spawn_says_so(spawn_env: dict[str, str]) -> None:
    """No model configured: the embedded SmolLM2 writes the code, cargo rejects it, and the abort
    names the model and says how to configure a real one (docs/design.md, the embedded defaults)."""
    env = {k: v for k, v in spawn_env.items() if not k.startswith("PHOENIX_LLM_")}
    env |= {"PHOENIX_SPAWN_REPAIRS": "0", "PHOENIX_LLM_TIMEOUT": "300"}
    done = phoenix(env, "--json", "spawn", "tiny-bot: prints hello")
    assert done.returncode == 1, done.stderr
    result = as_json(done)
    assert result["code"] == "spawn_aborted" and result["model"] == "local/smollm2"
    assert result["test_report"]["passed"] is False
    assert "written by local/smollm2" in result["message"]
    assert "embedded model cannot write compiling Rust" in result["message"]
    assert "PHOENIX_LLM_MODEL" in result["message"]


def test_ctrl_c_stops_a_spawn_in_its_cargo_test_and_leaves_nothing_running(
    spawn_env: dict[str, str], chat_server_url: str
) -> None:
    chat = ChatServer(chat_server_url)
    chat.reset()
    sleepy = "pub async fn run() {\n    std::thread::sleep(std::time::Duration::from_secs(120));\n}\n"
    chat.control(replies=[sleepy])
    process = subprocess.Popen(
        [PHOENIX, "spawn", "sleepy-bot: sleeps two minutes"], env=spawn_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip

    def sleeping_test_binary() -> bool:
        return any(
            "sleepy_bot" in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
        )

    wait_for(sleeping_test_binary, timeout_s=240, interval_s=0.5)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert time.monotonic() - started < 15
    assert "cancelled" in stderr and "Traceback" not in stderr
    assert not sleeping_test_binary()  # cargo and the test binaries were killed with their session
    agents = as_json(phoenix(spawn_env, "--json", "agents", "list"))["items"]
    assert [a["status"] for a in agents if a["name"] == "sleepy-bot"] == ["cancelled"]
