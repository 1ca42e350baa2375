"""How a repository is built and run, read from its files: pure functions over a folder on disk.

`analyze_repo(path)` → `RepoAnalysis`: the build systems at the root (priority order and primary in
`detect.py`), every command they declare, the primary's build steps and the start command
(`discover.py`; the Makefile and Gradle parsers are `makefile.py` and `gradle.py`).  Nothing here
runs a build, touches the network, Prefect or DuckDB: the import-and-build flow and the service
runner use the analysis.

Running what the analysis found lives in the modules beside it, imported by the tasks:
`runner.py` (a command as argv, with a timeout), `services.py` (supervised services: nothing they
start outlives them), `environment.py` (the allow-listed environment every build step, command and
service gets, and the repository's own variables) and `arguments.py` (a person's arguments as the
command's data, never the build tool's options).
"""

from phoenix.ecosystem.detect import (
    PRIMARY_ORDER,
    BuildSystem,
    ManifestError,
    RepoFiles,
    choose_primary,
    detect_build_systems,
)
from phoenix.ecosystem.discover import (
    Command,
    RepoAnalysis,
    UnknownCommand,
    analyze_repo,
)
from phoenix.ecosystem.gradle import gradle_plugins
from phoenix.ecosystem.makefile import parse_makefile

__all__ = [
    "PRIMARY_ORDER",
    "BuildSystem",
    "Command",
    "ManifestError",
    "RepoAnalysis",
    "RepoFiles",
    "UnknownCommand",
    "analyze_repo",
    "choose_primary",
    "detect_build_systems",
    "gradle_plugins",
    "parse_makefile",
]
