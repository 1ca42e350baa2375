"""Flow-run names that say what ran — `propose: caching x8`, not a random pair of words.

The Prefect UI lists runs by name, and by default each gets two random words.  Each flow names its
runs from its parameters instead (`flow_run_name=` takes a callable, which Prefect calls inside the
run's context, where `prefect.runtime.flow_run.parameters` holds them).  A name never carries a
secret: a memory value, a conversation's text beyond its start and a repository variable's value
never appear, and an import is named by the last segment of its source's path, so a credential in
a URL's user part never reaches it.
"""

from __future__ import annotations

from typing import Any

LONGEST = 40
"""Most characters of free text (a seed, a command) kept in a name."""


def _parameters() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def shorten(text: object, limit: int = LONGEST) -> str:
    """One line of at most `limit` characters, cut with an ellipsis."""
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def propose_run_name() -> str:
    parameters = _parameters()
    return f"propose: {shorten(parameters.get('seed'))} x{parameters.get('n', 5)}"


def router_run_name() -> str:
    return f"router: {shorten(_parameters().get('command'))}"


def memory_run_name() -> str:
    parameters = _parameters()
    subject = parameters.get("key") or parameters.get("query") or ""
    return f"memory {parameters.get('action', '')}: {shorten(subject)}".rstrip(": ")


def speak_run_name() -> str:
    return f"speak: {shorten(_parameters().get('user_input'), 30)}"


def import_run_name() -> str:
    parameters = _parameters()
    source = str(parameters.get("source") or "").strip()
    name = source.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git") or "?"
    branch = parameters.get("branch")
    verb = "import and build" if parameters.get("build", True) else "import"
    return f"{verb}: {shorten(name)}" + (f"@{shorten(branch, 30)}" if branch else "")


def ecosystem_run_name() -> str:
    parameters = _parameters()
    verb = str(parameters.get("command") or "").strip()
    repo_id = parameters.get("repo_id")
    return f"ecosystem {shorten(verb, 30)}" + (f" {repo_id}" if repo_id else "")
