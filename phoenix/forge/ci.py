"""The forge's CI runner: what GitHub Actions does for a pushed branch, done inside the forge process.

After every successful push through the forge, each branch whose head changed gets a job for its
new head: at once a `pending` commit status with context `phoenix-ci`, then, in one background
thread (jobs run one at a time, so two cargo builds never fight over the two cores), the commit is
exported with `git archive` into a temporary folder and tested, and `success` or `failure` is
posted with the duration and exit status; its `target_url` is the run's log page,
`<web>/<owner>/<repo>/ci/<sha>`.  A repository with a `Cargo.toml` runs
`phoenix.agents.cargo.cargo_test` (the generated code gets an allow-listed environment and is
killed on timeout); one without gets no status at all, as a repository with no workflow on GitHub.

A newer push to a branch replaces that branch's job still waiting in the queue (its commit gets an
`error` status saying so, instead of staying pending forever); a commit already tested or queued is
not tested again.  Runs are kept in the forge's own store (`ci_runs`), so a forge stopped mid-run
queues the interrupted runs again when it next starts.  `PHOENIX_FORGE_CI=off` disables the runner.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from phoenix.forge import repos
from phoenix.forge.storage import ForgeStore
from phoenix.settings import validate_environment

logger = logging.getLogger("phoenix.forge.ci")
CONTEXT = "phoenix-ci"
CI_LOGIN = "phoenix-ci[bot]"  # not a valid account name, so no user can ever take it
TIMEOUT_S = 600.0  # a first build of tokio and serde on two cores takes minutes
Json = dict[str, Any]


class CiSettings(BaseModel):
    """`PHOENIX_FORGE_CI`: `on` (the default) or `off`."""

    mode: Literal["on", "off"] = "on"


def ci_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this forge runs CI (`PHOENIX_FORGE_CI`, read when the forge starts)."""
    environ = os.environ if environ is None else environ
    settings = validate_environment(CiSettings, {"PHOENIX_FORGE_CI": "mode"}, environ)
    return settings.mode == "on"


@dataclass(frozen=True)
class Job:
    run_id: int
    repo_id: int
    full_name: str
    path: Path
    branch: str
    sha: str


class CiRunner:
    """One worker thread testing pushed commits, and the statuses it posts for them."""

    def __init__(
        self, store: ForgeStore, root: Path, folder: Path, web_url: str, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.store = store
        self.root = root  # the bare repositories, <root>/<owner>/<name>.git
        self.target_dir = folder / "ci-target"  # shared: dependencies compile once for every run
        self.web_url = web_url.rstrip("/")
        self.timeout_s = timeout_s
        self._waiting: dict[tuple[int, str], Job] = {}  # (repo, branch) -> its newest queued job
        self._condition = threading.Condition()
        self._running: Job | None = None
        self._stopping = False
        self._bot = store.ensure_account(CI_LOGIN, "Bot")
        self._thread = threading.Thread(target=self._work, name="phoenix-ci", daemon=True)

    def start(self) -> None:
        """Start the worker, first queueing again the runs a stopped forge left unfinished."""
        for run in self.store.unfinished_ci_runs():
            repo = self.store.repo_by_id(run["repo_id"])
            if repo is not None:
                self._enqueue(self._job(repo, run["branch"], run["sha"], run["id"]))
        self._thread.start()

    def stop(self) -> None:
        """Stop taking jobs and kill a running test's process group; never waits for a build."""
        with self._condition:
            self._stopping = True
            running = self._running is not None
            self._condition.notify_all()
        if running:
            _kill_child_sessions()

    def log_url(self, full_name: str, sha: str) -> str:
        return f"{self.web_url}/{full_name}/ci/{sha}"

    def path(self, repo: Json) -> Path:
        return self.root / repo["owner_login"] / f"{repo['name']}.git"

    def heads(self, repo: Json) -> dict[str, str]:
        """Each branch of `repo` and its commit, as `git for-each-ref` lists them."""
        return dict(repos.branches(self.path(repo)))

    def pushed(self, repo: Json, before: dict[str, str]) -> None:
        """Queue a job for every branch whose head a push changed (`before`: the heads before it)."""
        for branch, sha in sorted(self.heads(repo).items()):
            if before.get(branch) != sha:
                self.queue(repo, branch, sha)

    def queue(self, repo: Json, branch: str, sha: str) -> None:
        """Post `pending` for `sha` and queue its test, unless it has no Cargo.toml or has a run."""
        path = self.path(repo)
        if repos.run_git(path, "cat-file", "-e", f"{sha}:Cargo.toml").returncode != 0:
            return  # nothing to run, like a repository without a workflow
        earlier = self.store.ci_run(repo["id"], sha)
        if earlier is not None and earlier["state"] != "error":
            return  # the same commit pushed to a second branch: its status already says it all
        run = self.store.add_ci_run(repo["id"], sha, branch)
        job = self._job(repo, branch, sha, run["id"])
        self._post(job, "pending", "cargo test queued")
        self._enqueue(job)

    def _job(self, repo: Json, branch: str, sha: str, run_id: int) -> Job:
        full_name = f"{repo['owner_login']}/{repo['name']}"
        return Job(run_id, repo["id"], full_name, self.path(repo), branch, sha)

    def _enqueue(self, job: Job) -> None:
        with self._condition:
            replaced = self._waiting.pop((job.repo_id, job.branch), None)
            self._waiting[(job.repo_id, job.branch)] = job
            self._condition.notify_all()
        if replaced is not None and replaced.sha != job.sha:
            note = f"cancelled: a newer push to {job.branch} ({job.sha[:7]}) replaced this run"
            self.store.finish_ci_run(replaced.run_id, "error", None, None, note)
            self._post(replaced, "error", note)

    def _post(self, job: Job, state: str, description: str) -> None:
        fields = {
            "state": state,
            "context": CONTEXT,
            "description": description[:140],  # GitHub's limit
            "target_url": self.log_url(job.full_name, job.sha),
        }
        self.store.add_status(job.repo_id, job.sha, fields, self._bot["id"])

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._waiting and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                key = next(iter(self._waiting))  # the oldest queued branch
                job = self._running = self._waiting.pop(key)
            try:
                self._run(job)
            except Exception:  # a broken job must not end the runner
                logger.exception("phoenix-ci: the run of %s %s failed", job.full_name, job.sha)
            finally:
                with self._condition:
                    self._running = None

    def _run(self, job: Job) -> None:
        from phoenix.agents.cargo import cargo_test

        self._post(job, "pending", "cargo test running")
        with tempfile.TemporaryDirectory(prefix="phoenix-ci-") as scratch:
            folder = Path(scratch) / job.full_name.split("/")[1]
            export(job.path, job.sha, folder)
            outcome = cargo_test(folder, timeout_s=self.timeout_s, target_dir=self.target_dir)
        if self._stopping:
            return  # killed by stop(): the run stays pending and is queued again at next start
        if outcome.passed:
            description = f"cargo test passed in {outcome.duration_s:.1f} s (exit 0)"
        elif outcome.timed_out:
            description = f"cargo test timed out after {self.timeout_s:g} s"
        else:
            description = f"cargo test failed in {outcome.duration_s:.1f} s (exit {outcome.exit_code})"
        state = "success" if outcome.passed else "failure"
        self.store.finish_ci_run(
            job.run_id, state, outcome.exit_code, outcome.duration_s, outcome.output_tail
        )
        self._post(job, state, description)
        logger.info("phoenix-ci: %s %s on %s: %s", job.full_name, job.sha[:7], job.branch, description)


def export(repository: Path, sha: str, folder: Path) -> None:
    """The tree of `sha` in `folder`: `git archive` streamed into tarfile (no shell, no work tree).

    The `data` filter refuses absolute paths, `..` and links leading outside `folder`.
    """
    folder.mkdir(parents=True)
    process = subprocess.Popen(
        ["git", "--git-dir", str(repository), "archive", "--format=tar", sha],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=repos.git_environment(),
    )  # fmt: skip
    assert process.stdout is not None
    with process.stdout, tarfile.open(fileobj=process.stdout, mode="r|") as archive:
        archive.extractall(folder, filter="data")
    if process.wait() != 0:
        raise RuntimeError(f"git archive of {sha} failed with exit status {process.returncode}")


def log_text(run: Json, full_name: str) -> str:
    """The run's log page: what was tested, how it went, and the tail of cargo's output."""
    lines = [f"{CONTEXT}: cargo test of {full_name} at {run['sha']} (branch {run['branch']})"]
    if run["state"] == "pending":
        lines.append("state: pending (queued or running; this page shows the output when done)")
    else:
        lines.append(f"state: {run['state']}")
        if run["exit_code"] is not None:
            lines.append(f"exit status: {run['exit_code']}, duration: {run['duration_s']:.1f} s")
    return "\n".join(lines) + "\n\n" + (run["output"] or "") + "\n"


def _kill_child_sessions() -> None:
    """Kill the process group of every child of this process that leads its own session.

    `cargo_test` starts cargo in a session of its own (so a timeout kills rustc and the tests with
    it); stopping the forge kills only the forge's own group, so the build is ended here.
    """
    import psutil

    for child in psutil.Process().children():
        with contextlib.suppress(ProcessLookupError, psutil.Error):
            if os.getsid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGKILL)
