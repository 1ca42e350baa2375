"""`cargo test` of a spawned agent: offline, with a timeout, never with Phoenix's secrets.

Generated code is untrusted, and `cargo test` runs it (build scripts, proc macros, the tests), so it
runs like any repository's code (`phoenix.ecosystem.runner`): argv only, its own session so a
timeout kills the whole process group, and the allow-listed environment of
`phoenix.ecosystem.environment` — no `PHOENIX_*`, `GITHUB_PAT` or other credential reaches it.

Where Debian's crate packages are installed (`/usr/share/cargo/registry`), crates-io is replaced by
that directory in a CARGO_HOME made for the run, and cargo runs `--offline`: no network is needed
or used.  The run's CARGO_HOME is outside the agent's folder, so nothing of it is ever pushed.  With
no such directory cargo uses its own configuration and network as usual.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from phoenix.ecosystem.environment import repo_environment
from phoenix.ecosystem.runner import run_argv

DEBIAN_REGISTRY = Path("/usr/share/cargo/registry")
DEFAULT_TIMEOUT_S = 180.0
TAIL_LINES = 120
TAIL_CHARS = 12_000
MAX_ERRORS = 20
SOURCE_REPLACEMENT = """\
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "{directory}"
"""
# Summary lines that say a build or test failed without saying why.
_GENERIC = re.compile(r"^error: (could not compile|aborting due to|test failed|\d+ target)")
_DIAGNOSTIC = re.compile(r"^error(\[E\d+\])?: ")
_PANIC = re.compile(r"^thread '.*' panicked at ")


class TestOutcome(BaseModel):
    """The result of one `cargo test` of an agent."""

    __test__ = False  # not a pytest test class, despite its name

    passed: bool
    exit_code: int
    duration_s: float
    output_tail: str
    timed_out: bool = False
    offline: bool = False
    errors: list[str] = []


def compiler_errors(output: str, limit: int = MAX_ERRORS) -> list[str]:
    """The compiler's error diagnostics and the tests' panics in cargo's output, each as one block
    of text (headline, location, the annotated source), for feeding back to an LLM."""
    errors: list[str] = []
    block: list[str] | None = None
    for line in output.splitlines():
        starts = (_DIAGNOSTIC.match(line) and not _GENERIC.match(line)) or _PANIC.match(line)
        if starts:
            if block:
                errors.append("\n".join(block).rstrip())
            block = [line]
        elif block is not None and line.strip() and not line.startswith(("warning", "error")):
            block.append(line)
        elif block is not None:
            errors.append("\n".join(block).rstrip())
            block = None
    if block:
        errors.append("\n".join(block).rstrip())
    return errors[:limit]


def tail(output: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last `lines` lines of `output`, at most `chars` characters."""
    return "\n".join(output.rstrip().splitlines()[-lines:])[-chars:]


def cargo_environment(
    folder: Path, cargo_home: Path | None, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The allow-listed environment of an agent's build, with the run's CARGO_HOME when offline."""
    environment = repo_environment(folder, source=source)
    environment["CARGO_TERM_COLOR"] = "never"
    if cargo_home is not None:
        environment["CARGO_HOME"] = str(cargo_home)
    return environment


def cargo_version(source: Mapping[str, str] | None = None) -> str:
    """`cargo --version`'s line, or a sentence saying cargo is missing."""
    result = run_argv(
        ["cargo", "--version"], Path.cwd(), repo_environment(Path.cwd(), source=source), 30
    )
    return result.stdout.strip() if result.exit_code == 0 else result.stderr.strip()


def offline_cargo_home(folder: Path, registry: Path = DEBIAN_REGISTRY) -> Path | None:
    """A CARGO_HOME (made under `folder`, kept) whose crates-io is the Debian crate sources, so a
    spawned agent imported into the ecosystem builds and runs as `cargo_test` built it; None when
    this machine has no such sources (cargo then uses crates.io as usual)."""
    if not registry.is_dir():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(SOURCE_REPLACEMENT.format(directory=registry))
    return folder


def cargo_test(
    folder: Path,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    registry: Path | None = DEBIAN_REGISTRY,
    target_dir: Path | None = None,
    source: Mapping[str, str] | None = None,
) -> TestOutcome:
    """Run `cargo test` in an agent's folder and say how it went.

    Args:
        timeout_s: after this the whole process group (cargo, rustc, the test binaries) is killed.
        registry: a directory of crate sources to build from offline; None, or a directory that
            does not exist, builds with cargo's own configuration instead.
        target_dir: a build folder to share between runs (repairs of one agent, tests), so that
            tokio and serde are compiled once; the agent's own `target/` by default.
        source: the environment the allow-list takes its basics from; this process's by default.
    """
    offline = registry is not None and registry.is_dir()
    with tempfile.TemporaryDirectory(prefix="phoenix-cargo-home-") as home:
        cargo_home = Path(home) if offline else None
        if cargo_home is not None:
            (cargo_home / "config.toml").write_text(SOURCE_REPLACEMENT.format(directory=registry))
        argv = ["cargo", "test", *(["--offline"] if offline else [])]
        if target_dir is not None:
            argv += ["--target-dir", str(target_dir)]
        environment = cargo_environment(folder, cargo_home, source)
        result = run_argv(argv, folder, environment, timeout_s)
    output = "\n".join(part for part in (result.stderr, result.stdout) if part.strip())
    passed = result.exit_code == 0 and not result.timed_out
    return TestOutcome(
        passed=passed,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        output_tail=tail(output),
        timed_out=result.timed_out,
        offline=offline,
        errors=[] if passed else compiler_errors(output),
    )
