"""The core of spawning an agent: names, tiers, the repository template, its offline `cargo test`
with a timeout, and TEST_REPORT.md.

Three real cargo runs share one build folder (module fixture `good_build`, then a module that does
not compile, then one that never returns), so tokio and serde are compiled once.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import psutil
import pytest

from phoenix.agents.cargo import (
    DEBIAN_REGISTRY,
    TestOutcome,
    cargo_environment,
    cargo_test,
    cargo_version,
    compiler_errors,
)
from phoenix.agents.naming import normalise_agent_name, parse_spawn_command
from phoenix.agents.report import fence_for, render_test_report, write_test_report
from phoenix.agents.template import AgentSpec, assemble, strip_code_fences, template_files
from phoenix.agents.tiers import Tier, Visibility, tier_for, visibility_for
from phoenix.errors import BadInput
from tests.conftest import require_tool, wait_for

MODEL = "openai/test-model"
SECRETS = {"PHOENIX_API_TOKEN": "phx-secret-1", "GITHUB_PAT": "ghp_secret_2", "OPENAI_API_KEY": "k3"}


def spec(name: str = "Weather Bot", description: str = "tells the weather") -> AgentSpec:
    tier = tier_for(description)
    return AgentSpec(
        name=normalise_agent_name(name),
        description=description,
        tier=tier,
        visibility=visibility_for(tier),
        model=MODEL,
    )


def rust_string(path: Path) -> str:
    return json.dumps(str(path))  # a JSON string of a plain path is a valid Rust string literal


# --- Names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "repo", "crate"),
    [
        ("Weather Bot", "weather-bot", "weather_bot"),
        ("  news / digest\tv2 ", "news-digest-v2", "news_digest_v2"),
        ("../etc/passwd", "etc-passwd", "etc_passwd"),
        (".hidden.agent", "hidden-agent", "hidden_agent"),
        ("Météo Ünïcode", "meteo-unicode", "meteo_unicode"),
        ("日本語 agent", "agent", "agent"),
        ("2fast", "2fast", "agent_2fast"),
        ("fn", "fn", "fn_agent"),
        ("Test", "test", "test_agent"),
        ("std", "std", "std_agent"),
        ("tokio", "tokio", "tokio_agent"),
    ],
)
def test_names_become_valid_repository_and_crate_names(text: str, repo: str, crate: str) -> None:
    name = normalise_agent_name(text)
    assert (name.repo, name.crate) == (repo, crate)
    assert re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name.repo) and not name.repo.startswith(".")
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", name.crate)
    assert name.display == " ".join(text.split())


def test_long_names_are_cut_at_a_word_within_the_limits() -> None:
    name = normalise_agent_name(" ".join(["agentword"] * 40))
    assert len(name.repo) <= 100 and not name.repo.endswith("-")
    assert len(name.crate) <= 64 and not name.crate.endswith("_")


@pytest.mark.parametrize("text", ["", "   ", "日本語", "!!! / ...", "ß", "0a1b2c3d4e"])
def test_names_with_nothing_usable_are_refused_clearly(text: str) -> None:
    with pytest.raises(BadInput, match="weather-bot"):
        normalise_agent_name(text)


def test_spawn_command_with_a_name_and_a_description() -> None:
    request = parse_spawn_command("spawn agent Météo/Bot: tells the weather: daily")
    assert request.name.repo == "meteo-bot"
    assert request.description == "tells the weather: daily"


def test_spawn_command_with_a_description_only_names_the_agent_from_its_first_words() -> None:
    request = parse_spawn_command("Spawn Agent a bot that tracks prices every hour")
    assert request.name.repo == "bot-tracks-prices"
    assert request.description == "a bot that tracks prices every hour"
    long_head = parse_spawn_command("spawn agent an agent that answers every question with: yes")
    assert long_head.description == "an agent that answers every question with: yes"


@pytest.mark.parametrize("text", ["spawn agent", "spawn agent bot:", "spawn agent   ", "spawn x"])
def test_spawn_commands_without_a_description_are_refused(text: str) -> None:
    with pytest.raises(BadInput):
        parse_spawn_command(text)


# --- Tiers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "explicit", "tier"),
    [
        ("an enterprise CRM sync", None, Tier.ENTERPRISE),
        ("Premium weather alerts", None, Tier.ENTERPRISE),
        ("a paid newsletter bot", None, Tier.PAID),
        ("monetize my blog", None, Tier.PAID),
        ("a premium bot to monetize", None, Tier.ENTERPRISE),
        ("an unpaid intern helper", None, Tier.FREE),
        ("a weather bot", None, Tier.FREE),
        ("an enterprise CRM sync", "free", Tier.FREE),
        ("a weather bot", "Paid", Tier.PAID),
        ("a weather bot", Tier.ENTERPRISE, Tier.ENTERPRISE),
    ],
)
def test_tiers_as_the_original_and_an_explicit_tier_wins(
    description: str, explicit: str | Tier | None, tier: Tier
) -> None:
    assert tier_for(description, explicit) is tier


def test_free_agents_are_public_and_others_private() -> None:
    assert visibility_for(Tier.FREE) is Visibility.PUBLIC
    assert visibility_for(Tier.PAID) is Visibility.PRIVATE
    assert visibility_for(Tier.ENTERPRISE) is Visibility.PRIVATE
    with pytest.raises(BadInput, match="free, paid, enterprise"):
        tier_for("x", "gold")


# --- Template ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "```rust\npub async fn run() {}\n```",
        "Here is the module:\n\n```rs\npub async fn run() {}\n```\nIt prints nothing.",
        "```\npub async fn run() {}\n```",
        "````rust\npub async fn run() {}\n````",
        "rust\npub async fn run() {}",
        "pub async fn run() {}",
        "```toml\n[x]\n```\n```rust\npub async fn run() {}\n```",
        "```rust\npub async fn run() {}",
    ],
)
def test_code_fences_and_a_language_tag_are_stripped(answer: str) -> None:
    assert strip_code_fences(answer) == "pub async fn run() {}\n"


def test_assemble_writes_every_scaffold_file_filled_in(tmp_path: Path) -> None:
    agent = spec("Weather Bot", 'says "hi" to enterprise users')
    written = assemble(tmp_path, agent, "```rust\npub async fn run() {}\n```")
    relative = {path.relative_to(tmp_path).as_posix() for path in written}
    assert relative == {
        "Cargo.toml",
        "README.md",
        "agent.json",
        ".gitignore",
        "src/main.rs",
        "src/lib.rs",
        "src/generated.rs",
        "tests/smoke.rs",
        ".github/workflows/ci-tests.yml",
        ".github/workflows/build-deploy.yml",
        ".github/workflows/marketplace.yml",
    }
    for path in written:
        assert not re.search(r"@[A-Z_]+@", path.read_text()), path
    cargo = (tmp_path / "Cargo.toml").read_text()
    assert 'name = "weather_bot"' in cargo and 'edition = "2021"' in cargo
    assert 'description = "says \\"hi\\" to enterprise users"' in cargo
    assert "weather_bot::generated::run().await" in (tmp_path / "src/main.rs").read_text()
    assert (tmp_path / "src/generated.rs").read_text() == "pub async fn run() {}\n"
    described = json.loads((tmp_path / "agent.json").read_text())
    assert described["tier"] == "Enterprise" and described["visibility"] == "private"
    assert described["model"] == MODEL and described["repo"] == "weather-bot"
    assert "${{ github.token }}" in (tmp_path / ".github/workflows/marketplace.yml").read_text()
    assert "actions/checkout@v4" in (tmp_path / ".github/workflows/ci-tests.yml").read_text()


def test_templates_are_found_relative_to_the_module() -> None:
    assert len(template_files()) == 9
    assert all(source.is_file() for source in template_files())


# --- The report --------------------------------------------------------------------------------


def test_report_fence_cannot_be_closed_by_backticks_in_the_output(tmp_path: Path) -> None:
    hostile = "line\n```\n# Injected heading\n`````\nend"
    outcome = TestOutcome(passed=False, exit_code=101, duration_s=3.25, output_tail=hostile)
    text = render_test_report(outcome, MODEL, 2, "cargo 1.0")
    fence = fence_for(hostile)
    assert fence == "``````"
    assert f"{fence}text\n{hostile}\n{fence}\n" in text
    assert "**FAILED**" in text and "| exit status | 101 |" in text and "| attempt | 2 |" in text


def test_compiler_errors_skip_the_generic_summary_lines() -> None:
    output = (
        "   Compiling x v0.1.0\n"
        "error[E0425]: cannot find value `y` in this scope\n"
        " --> src/generated.rs:2:5\n"
        "  |\n"
        "2 |     y\n"
        "  |     ^ not found in this scope\n"
        "\n"
        "error: could not compile `x` (lib) due to 1 previous error\n"
    )
    assert compiler_errors(output) == [
        "error[E0425]: cannot find value `y` in this scope\n --> src/generated.rs:2:5\n  |\n"
        "2 |     y\n  |     ^ not found in this scope"
    ]


# --- The environment ---------------------------------------------------------------------------


def test_cargo_environment_holds_no_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    environment = cargo_environment(tmp_path, tmp_path / "home")
    assert environment["CARGO_HOME"] == str(tmp_path / "home")
    assert not any(name.startswith(("PHOENIX_", "GITHUB_")) for name in environment)
    assert not set(SECRETS.values()) & set(environment.values())


# --- Real cargo runs ---------------------------------------------------------------------------

GOOD_MODULE = """Here is the agent:

```rust
use serde::Serialize;

#[derive(Serialize)]
struct Greeting {
    text: String,
}

pub async fn run() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    let names: Vec<String> = std::env::vars().map(|(name, value)| format!("{name}={value}")).collect();
    std::fs::write(ENV_FILE, names.join("\\n")).expect("the environment is written");
    println!("{}", serde_json::to_string(&Greeting { text: "hi".into() }).unwrap());
}

const ENV_FILE: &str = @ENV_FILE@;
```
"""


@pytest.fixture(scope="module")
def good_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One good agent built and tested with secrets in Phoenix's environment; its build folder is
    shared by the other cargo tests so that the dependencies are compiled once."""
    require_tool("cargo")
    if not DEBIAN_REGISTRY.is_dir():
        pytest.skip("needs Debian's crate sources in /usr/share/cargo/registry (.ci/run installs them)")
    root = tmp_path_factory.mktemp("good")
    folder, target, env_file = root / "agent", root / "target", root / "env.txt"
    code = GOOD_MODULE.replace("@ENV_FILE@", rust_string(env_file))
    assemble(folder, spec(), code)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SECRETS.items():
            patch.setenv(name, value)
        outcome = cargo_test(folder, target_dir=target)
    return {"folder": folder, "target": target, "env_file": env_file, "outcome": outcome}


def test_a_good_module_passes_offline_and_the_report_says_so(good_build: dict) -> None:
    outcome: TestOutcome = good_build["outcome"]
    assert outcome.passed, outcome.output_tail
    assert outcome.exit_code == 0 and not outcome.timed_out and outcome.offline
    assert "test run_completes ... ok" in outcome.output_tail
    assert "test binary_exits_successfully ... ok" in outcome.output_tail
    version = cargo_version()
    assert version.startswith("cargo ")
    report = write_test_report(good_build["folder"], outcome, MODEL, 1, version).read_text()
    assert "**PASSED**" in report and "| exit status | 0 |" in report
    assert f"| code written by | {MODEL} |" in report and f"| cargo | {version} |" in report
    assert "| attempt | 1 |" in report


def test_the_code_cargo_runs_never_sees_phoenix_secrets(good_build: dict) -> None:
    assert good_build["outcome"].passed, good_build["outcome"].output_tail
    seen = dict(
        line.split("=", 1) for line in good_build["env_file"].read_text().splitlines() if "=" in line
    )
    assert "PATH" in seen and "CARGO_HOME" in seen
    assert not any(name.startswith(("PHOENIX_", "GITHUB_")) for name in seen)
    assert not set(SECRETS.values()) & set(seen.values())
    assert "phoenix-cargo-home-" in seen["CARGO_HOME"]  # the run's own, with the Debian source


def test_a_module_that_does_not_compile_fails_with_the_compiler_errors(
    good_build: dict, tmp_path: Path
) -> None:
    bad = '```rust\npub async fn run() {\n    let n: u32 = "three";\n    missing(n);\n}\n```'
    assemble(tmp_path, spec("Broken Bot"), bad)
    outcome = cargo_test(tmp_path, target_dir=good_build["target"])
    assert not outcome.passed and outcome.exit_code != 0 and not outcome.timed_out
    headlines = [error.splitlines()[0] for error in outcome.errors]
    assert any(line.startswith("error[E0308]: mismatched types") for line in headlines), headlines
    assert any(line.startswith("error[E0425]") and "missing" in line for line in headlines)
    assert all("src/generated.rs" in error for error in outcome.errors)
    report = render_test_report(outcome, MODEL, 3, cargo_version())
    assert "**FAILED**" in report and "| attempt | 3 |" in report


def test_a_run_that_never_returns_times_out_and_leaves_no_process(
    good_build: dict, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids.txt"
    looping = f"""```rust
use std::io::Write;

pub async fn run() {{
    let mut file = std::fs::OpenOptions::new().create(true).append(true)
        .open({rust_string(pids_file)}).unwrap();
    writeln!(file, "{{}}", std::process::id()).unwrap();
    loop {{
        std::hint::spin_loop();
    }}
}}
```"""
    folder = tmp_path / "agent"
    assemble(folder, spec("Loop Bot"), looping)
    started = time.monotonic()
    outcome = cargo_test(folder, timeout_s=20, target_dir=good_build["target"])
    assert time.monotonic() - started < 40
    assert outcome.timed_out and not outcome.passed
    pids = [int(line) for line in pids_file.read_text().split()]
    assert pids  # the test harness calling run() and, in parallel, the agent's binary

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_for(lambda: all(gone(pid) for pid in pids), timeout_s=10)
    assert "timed out" in render_test_report(outcome, MODEL, 1, "cargo")
