"""Tasks that read how a repository is built, and build it.

A build runs the primary build system's steps (read from the repository's files) one after the
other, each with a timeout, its output appended to `PHOENIX_HOME/logs/<id>/build.log`.  Python
repositories build into a virtual environment of their own (`PHOENIX_HOME/venvs/<id>`), never into
Phoenix's.  A missing tool, a timeout or a failing step is a BuildFailed with that reason.  Every
step, command and service runs in `command_environment`: an allow-list, the repository's own
variables (`repo_variables`, kept in PHOENIX_HOME/repo-env, never in DuckDB) and its virtualenv.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, SecretStr

from phoenix.ecosystem.arguments import command_argv
from phoenix.ecosystem.discover import RepoAnalysis, analyze_repo
from phoenix.ecosystem.environment import (
    delete_variables,
    read_variables,
    repo_environment,
    update_variables,
)
from phoenix.ecosystem.runner import NOT_INSTALLED, run_argv
from phoenix.ecosystem.services import tail

# How much of a build log is kept in DuckDB and shown with the record.
LOG_TAIL_LINES = 200
LOG_TAIL_BYTES = 4000


def _kept_tail(log_path: Path) -> str:
    return tail(log_path, LOG_TAIL_LINES, LOG_TAIL_BYTES)


class BuildOutcome(BaseModel):
    status: str  # Built | BuildFailed
    reason: str | None = None
    log_tail: str
    steps: list[list[str]]


@task(name="analyze-repo", cache_policy=NO_CACHE)
def analyze_repository(local_path: str) -> RepoAnalysis:
    """Every build system at the root, the primary one, and the commands read from the files."""
    return analyze_repo(Path(local_path))


def uses_python(analysis: RepoAnalysis) -> bool:
    return analysis.primary == "python" or any(
        step.argv[:1] == ["python"] for step in analysis.build_steps
    )


def repo_venv(home: Path, repo_id: str) -> Path:
    return home / "venvs" / repo_id


def existing_venv(home: Path, repo_id: str) -> Path | None:
    """The repository's virtualenv if a build made one."""
    venv = repo_venv(home, repo_id)
    return venv if venv.exists() else None


def command_environment(home: Path, repo_id: str, repo: Path, venv: Path | None) -> dict[str, str]:
    """The one environment a repository's build steps, commands and service run in: the allow-list
    of `phoenix.ecosystem.environment`, the variables set for the repository, and `venv` first on
    PATH."""
    return repo_environment(repo, venv, read_variables(home, repo_id))


def _failure_reason(argv: list[str], exit_code: int, stderr: str, timed_out: bool) -> str:
    if exit_code == NOT_INSTALLED and "not installed" in stderr:
        return stderr.strip()
    if timed_out:
        return f"`{' '.join(argv)}` {stderr.strip().splitlines()[-1]}"
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "")
    return f"`{' '.join(argv)}` exited with {exit_code}" + (f": {last[:300]}" if last else "")


@task(name="build-repo", cache_policy=NO_CACHE)
def build_repository(repo_id: str, local_path: str, home: Path, timeout_s: float) -> BuildOutcome:
    """Run the primary build system's steps; stop at the first that fails."""
    repo = Path(local_path)
    analysis = analyze_repo(repo)
    log_path = home / "logs" / repo_id / "build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    venv = None
    if uses_python(analysis):
        venv = repo_venv(home, repo_id)
        if not (venv / "bin" / "python").exists():
            made = run_argv([sys.executable, "-P", "-m", "venv", str(venv)], repo,
                            command_environment(home, repo_id, repo, None), timeout_s,
                            log_path)  # fmt: skip
            if made.exit_code != 0:
                return BuildOutcome(status="BuildFailed", reason="could not create a virtualenv",
                                    log_tail=_kept_tail(log_path), steps=[])  # fmt: skip
    environment = command_environment(home, repo_id, repo, venv)
    steps = [step.argv for step in analysis.build_steps]
    for argv in steps:
        result = run_argv(argv, repo, environment, timeout_s, log_path)
        if result.exit_code != 0:
            reason = _failure_reason(argv, result.exit_code, result.stderr, result.timed_out)
            return BuildOutcome(
                status="BuildFailed", reason=reason, log_tail=_kept_tail(log_path), steps=steps
            )
    if not steps:
        log_path.write_text("nothing to build: no build steps were found\n")
    return BuildOutcome(status="Built", log_tail=_kept_tail(log_path), steps=steps)


@task(name="run-repo-command", cache_policy=NO_CACHE)
def run_repo_command(
    repo_id: str, local_path: str, home: Path, name: str, args: list[str], timeout_s: float
) -> dict[str, object]:
    """Run a discovered command with `args` as its data (never through a shell, never as the build
    tool's options: `phoenix.ecosystem.arguments`)."""
    repo = Path(local_path)
    command = analyze_repo(repo).resolve(name)
    argv = command_argv(command.argv, args)
    environment = command_environment(home, repo_id, repo, existing_venv(home, repo_id))
    result = run_argv(argv, repo, environment, timeout_s)
    return {
        "command": command.name,
        "argv": result.argv,
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "timed_out": result.timed_out,
        "duration_s": result.duration_s,
    }


@task(name="repo-variables", cache_policy=NO_CACHE)
def repo_variables(home: Path, repo_id: str, assignments: list[SecretStr]) -> list[str]:
    """Set (`KEY=VALUE`) and unset (`KEY=`) the repository's own variables; the names now set.

    The assignments arrive as `SecretStr`: a value may be a secret, and this task's inputs must not
    show it anywhere Prefect keeps or logs them.
    """
    return update_variables(home, repo_id, [a.get_secret_value() for a in assignments])


@task(name="forget-repo-variables", cache_policy=NO_CACHE)
def forget_repo_variables(home: Path, repo_id: str) -> None:
    delete_variables(home, repo_id)
