"""Tasks that show the ecosystem in the Prefect UI: build reports, the repositories, services.

A person looking at the UI should see how a build went, which repositories are imported and whether
their services run without opening a log.  Each artifact has a stable key per subject
(`build-<id>`, `service-<id>`, `phoenix-repos`), so the Artifacts page shows the latest one and the
key's page its history; each flow run's page shows the ones it made.

Artifacts are kept by Prefect and shown to anyone who can see the UI, so they hold only what a
repository record already shows: no environment variables, no repository variables, no credentials
(a URL is shown without its userinfo even though the import already took it out).
"""

from __future__ import annotations

import re
from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE

from phoenix.ecosystem.source import split_credentials
from phoenix.store.repos import RepoRecord
from tasks.build import BuildOutcome

REPOS_KEY = "phoenix-repos"
"""The key of the table of imported repositories: one artifact, its latest version is the list."""


def artifact_key(prefix: str, subject: str) -> str:
    """`prefix-subject` as Prefect accepts a key: lowercase letters, digits and dashes only."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", f"{prefix}-{subject}".lower())
    return re.sub(r"-{2,}", "-", cleaned).strip("-")


def build_key(repo_id: str) -> str:
    """The key of a repository's build report: its page shows the latest build."""
    return artifact_key("build", repo_id)


def service_key(repo_id: str) -> str:
    """The key of a repository's service status."""
    return artifact_key("service", repo_id)


def shown_url(url: str) -> str:
    """The repository's URL without any credential in it."""
    return split_credentials(url)[0]


def code(text: str) -> str:
    """`text` as a markdown code span, whatever backticks it holds ("" when there is no text)."""
    if not text:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def fenced(text: str) -> str:
    """`text` as a fenced block that no run of backticks inside it can close."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _argv(argv: list[str]) -> str:
    return " ".join(argv)


def table_lines(rows: list[tuple[str, str]]) -> list[str]:
    """A two-column markdown table; a `|` in a value is escaped so it cannot split a cell."""
    escaped = [(name, value.replace("|", "\\|")) for name, value in rows]
    return ["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in escaped)]


def build_report(record: RepoRecord, outcome: BuildOutcome, duration_s: float) -> str:
    """The markdown of one build: what was built, how it ended, and the end of its log."""
    rows = [
        ("Status", f"**{outcome.status}**"),
        ("Repository", f"{code(record.id)} {code(shown_url(record.url))}"),
        ("Branch", code(record.branch or "")),
        ("Commit", code((record.commit or "")[:12])),
        ("Build system", code(record.build_system or "none")),
        ("Steps", ", ".join(code(_argv(step)) for step in outcome.steps) or "none"),
        ("Duration", f"{duration_s:.2f} s"),
    ]
    lines = [f"# Build of {record.name}: {outcome.status}", "", *table_lines(rows)]
    if outcome.reason:
        lines += ["", "## Error", "", fenced(outcome.reason)]
    log_tail = outcome.log_tail.strip()
    lines += ["", "## End of the build log", "", fenced(log_tail) if log_tail else "(empty)"]
    return "\n".join(lines) + "\n"


@task(name="publish-build-report", cache_policy=NO_CACHE)
def publish_build_report(record: RepoRecord, outcome: BuildOutcome, duration_s: float) -> UUID:
    """A markdown build report under `build-<id>`: the latest build of each repository, readable
    in the UI without opening `PHOENIX_HOME/logs/<id>/build.log`."""
    return create_markdown_artifact(
        markdown=build_report(record, outcome, duration_s),
        key=build_key(record.id),
        description=f"{record.name} ({record.id}): {outcome.status} in {duration_s:.2f} s",
    )


def repo_row(record: RepoRecord) -> dict[str, str | int | None]:
    """One repository as a row of the repositories table."""
    return {
        "id": record.id,
        "name": record.name,
        "url": shown_url(record.url),
        "branch": record.branch or "",
        "build_status": record.build_status,
        "service_status": record.service_status,
        "port": record.port if record.service_status == "Running" else None,
    }


@task(name="publish-repos-table", cache_policy=NO_CACHE)
def publish_repos_table(records: list[RepoRecord]) -> UUID:
    """The imported repositories as a table under `phoenix-repos`, so the Artifacts page always
    shows the current list; made again after each import, build, start, stop, remove and list."""
    running = sum(record.service_status == "Running" for record in records)
    return create_table_artifact(
        table=[repo_row(record) for record in records],
        key=REPOS_KEY,
        description=f"{len(records)} imported repositories, {running} with a running service.",
    )


def service_url(record: RepoRecord) -> str | None:
    """Where a running service listens ($PORT on this machine), if it has a port."""
    if record.service_status != "Running" or record.port is None:
        return None
    return f"http://127.0.0.1:{record.port}"


def service_report(record: RepoRecord) -> str:
    """The markdown of a service's status: whether it runs, where, and how it last ended."""
    url = service_url(record)
    rows = [
        ("Status", f"**{record.service_status}**"),
        ("Address", f"[{url}]({url})" if url else "none"),
        ("Process", code(str(record.pid)) if url and record.pid else "none"),
        ("Command", code(_argv(record.service_command)) if record.service_command else "none"),
        ("Started", record.started_at.isoformat(timespec="seconds") if record.started_at else ""),
        ("Exit code", "" if record.exit_code is None else code(str(record.exit_code))),
    ]
    lines = [f"# Service of {record.name}: {record.service_status}", "", *table_lines(rows)]
    return "\n".join(lines) + "\n"


@task(name="publish-service-status", cache_policy=NO_CACHE)
def publish_service_status(record: RepoRecord) -> list[UUID]:
    """The service's status under `service-<id>`, and a link to it on this run while it listens.

    The link has no key: a keyed link would keep pointing at a port after the service stopped,
    while the status under `service-<id>` always says what is true now.
    """
    made = [
        create_markdown_artifact(
            markdown=service_report(record),
            key=service_key(record.id),
            description=f"{record.name} ({record.id}): {record.service_status}",
        )
    ]
    url = service_url(record)
    if url:
        made.append(
            create_link_artifact(
                link=url,
                link_text=f"{record.name} on {url}",
                description=f"The running service of {record.name} ({record.id})",
            )
        )
    return made
