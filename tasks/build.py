"""Tasks that read how a repository is built and run (its build files), without running anything."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from phoenix.ecosystem.discover import RepoAnalysis, analyze_repo


@task(name="analyze-repo", cache_policy=NO_CACHE)
def analyze_repository(local_path: str) -> RepoAnalysis:
    """Every build system at the root, the primary one, and the commands read from the files."""
    return analyze_repo(Path(local_path))
