"""Request and response bodies of the HTTP API, and the statuses each route documents.

Every constraint a route enforces is in these models (lengths, patterns, "not blank"), so the
OpenAPI document is the truth: a value the schema allows is never refused with a 400 for its shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from phoenix.ecosystem.source import NAME_SEGMENT
from phoenix.store.repos import RepoRecord
from phoenix.store.vectors import VectorItem, VectorList, VectorSearchResult
from phoenix.system.execute import MAX_ARGUMENTS, ExecResult
from phoenix.system.status import SystemStatus
from phoenix.system.workspace import FileContent, WrittenFile

NOT_BLANK = r"\S"
"""Holds at least one character that is not white space (a JSON Schema pattern is unanchored)."""
NETWORK_GIT_URL = r"^(?:(?:https?|git|ssh)://\S+|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:\S+)$"
NAME = rf"^{NAME_SEGMENT}$"
BRANCH = r"^[^-\s~^:?*\[\\][^\s~^:?*\[\\]*$"
REPO_ID = r"^[0-9a-f]{10}$"
"""An imported repository's id (`phoenix.ecosystem.source.repo_id`): never `list` or `import`."""

Text = Annotated[str, Field(min_length=1, max_length=10_000, pattern=NOT_BLANK)]


class ErrorResponse(BaseModel):
    """An error; a failed operation also carries its data (a failed build's record, say)."""

    model_config = ConfigDict(extra="allow")
    message: str = Field(description="What went wrong, for a person.")
    code: str = Field(description="bad_input, not_found, ... (docs/design.md, 'JSON shapes')")
    detail: Any | None = Field(default=None, description="The validation errors of a 422.")


STATUS_DESCRIPTIONS = {
    400: "Unusable value or command (codes bad_input, usage_error)",
    401: "Missing or wrong bearer token",
    403: "The forge refused the credentials (access_denied), or system commands are off"
    " (system_commands_disabled: set PHOENIX_SYSTEM_COMMANDS=on)",
    404: "No such repository, agent, pull request, memory, flow or route (not_found)",
    409: "Conflicts with the current state, e.g. a running service (conflict)",
    413: "Bigger than its cap: the content to write or the file to read (too_large)",
    422: "Malformed request: the body or a parameter does not match the schema (malformed)",
    500: "The operation failed (failed)",
    501: "Not provided by this version (not_available)",
    502: "What ran failed: a build, a command, the LLM, a spawn (spawn_aborted); the body keeps the"
    " result's data",
    503: "The state store is busy (busy), or no runner serves the deployment an asynchronous run"
    " needs (not_served: start `phoenix serve`)",
}

FLOW_FAILURES = (401, 500, 503)
"""What any authenticated route that runs a flow may answer besides its own errors (422: inputs)."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route: `statuses` and FLOW_FAILURES, each with the error model."""
    return {
        status: {"model": ErrorResponse, "description": STATUS_DESCRIPTIONS[status]}
        for status in sorted({*statuses, *FLOW_FAILURES})
    }


ASYNC_DESCRIPTION = (
    "Accepted: asked with ?wait=false or `Prefer: respond-async`, the run was submitted to its"
    " deployment (served by `phoenix serve`); follow `status_url` (also the `Location` header)."
)


def async_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`error_responses(*statuses)` and the 202 of a long operation asked to run asynchronously."""
    return {
        202: {
            "model": RunSubmittedResponse,
            "description": ASYNC_DESCRIPTION,
            "headers": {
                "Location": {"description": "/api/runs/{run_id}", "schema": {"type": "string"}},
                "Preference-Applied": {
                    "description": "respond-async (RFC 7240)",
                    "schema": {"type": "string"},
                },
            },
        },
        **error_responses(*statuses, 503),
    }


class RunSubmittedResponse(BaseModel):
    """A run that was submitted and not waited for."""

    run_id: str = Field(description="The Prefect flow-run id.")
    status_url: str = Field(description="Where its state, and its result once finished, are read.")
    ui_url: str | None = Field(default=None, description="The run's page in the Prefect UI.")


class CommandRequest(BaseModel):
    command: Text = Field(description="A router command, e.g. 'memory get k' or 'help'.")


class SpeakRequest(BaseModel):
    user_input: Text = Field(description="What the person said.")
    conversation: str | None = Field(
        default=None,
        max_length=200,
        description="Which conversation this turn belongs to; its earlier turns are recalled"
        " (default: the one default conversation).",
    )


class EnvelopeResponse(BaseModel):
    """The router's reply; capability-specific fields ride along."""

    model_config = ConfigDict(extra="allow")
    type: str
    message: str


class MemoryStoreRequest(BaseModel):
    key: Text = Field(description="The key; not empty or blank (stored trimmed).")
    value: str = Field(max_length=1_000_000)


class MemoryItemResponse(BaseModel):
    key: str
    value: str


class MemorySearchResponse(BaseModel):
    items: list[MemoryItemResponse]
    count: int


class HealthResponse(BaseModel):
    status: str
    version: str


class ImportRequest(BaseModel):
    """Either `url` (a network git URL) or `owner` and `repo` (GitHub or GITHUB_API_URL's forge)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["url"], "not": {"anyOf": [{"required": [k]} for k in ("owner", "repo")]}},
                {"required": ["owner", "repo"], "not": {"required": ["url"]}},
            ]
        }
    )
    url: Annotated[str, Field(max_length=2048, pattern=NETWORK_GIT_URL)] | SkipJsonSchema[None] = Field(
        default=None,
        description="A git URL reached over the network (https, http, ssh, git,"
        " user@host:path); local folders are CLI-only.",
    )
    owner: Annotated[str, Field(max_length=100, pattern=NAME)] | SkipJsonSchema[None] = None
    repo: Annotated[str, Field(max_length=100, pattern=NAME)] | SkipJsonSchema[None] = None
    branch: Annotated[str, Field(max_length=255, pattern=BRANCH)] | SkipJsonSchema[None] = Field(
        default=None, description="Default: the default branch."
    )
    build: bool = Field(default=False, description="Also build it (import only by default).")

    @model_validator(mode="after")
    def _one_source(self) -> ImportRequest:
        named = sum(part is not None for part in (self.owner, self.repo))
        if (self.url is not None, named) not in ((True, 0), (False, 2)):
            raise ValueError("give either url, or owner and repo")
        return self


class RepoCommandRequest(BaseModel):
    command: str = Field(
        min_length=1, max_length=200, pattern=NOT_BLANK, description="A discovered command."
    )
    args: list[Annotated[str, Field(max_length=10_000)]] = Field(
        default_factory=list, max_length=1000, description="Its arguments, as argv (no shell)."
    )


class RepoResponse(RepoRecord):
    """An imported repository's record (the fields of `phoenix ecosystem show`)."""

    model_config = ConfigDict(extra="allow")


class RepoListResponse(BaseModel):
    items: list[RepoResponse]


class RepoCommandResponse(BaseModel):
    """What a repository command did; a non-zero exit is a 502 with these fields."""

    model_config = ConfigDict(extra="allow")
    command: str
    argv: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float


# --- agents and their pull requests -----------------------------------------------------------------

AGENT_ID = r"^[0-9a-f]{10}$"
"""A spawned agent's id (`phoenix agents list`): never `spawn`."""


class SpawnRequest(BaseModel):
    """What the agent does; its name and tier are made from the description unless given."""

    description: Text = Field(description="What the agent does, in plain words.")
    name: Annotated[str, Field(max_length=200)] | SkipJsonSchema[None] = Field(
        default=None,
        description="Its name (made into a repository and crate name); a name with no letters or"
        " digits is refused (400). Default: the description's first words.",
    )
    tier: Literal["free", "paid", "enterprise"] | SkipJsonSchema[None] = Field(
        default=None,
        description="free (public repository), paid or enterprise (private). Default: read from"
        " the description (enterprise/premium, paid/monetize, else free).",
    )


class TestReport(BaseModel):
    __test__ = False  # not a pytest class, whatever its name
    passed: bool
    exit_code: int | None
    duration_s: float | None


class AgentResponse(BaseModel):
    """An agent's record (`phoenix agents show`); a spawn adds what its pull request waits for."""

    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    description: str
    tier: str
    status: str = Field(description="generating, aborted, pushed, awaiting_ci, awaiting_approval,"
                        " merged, refused, timed_out")  # fmt: skip
    repo_url: str | None
    pr_number: int | None
    pr_url: str | None
    model: str | None = Field(description="The model that wrote its code.")
    attempts: int | None = Field(description="cargo test runs (1 + repairs).")
    error: str | None = Field(description="Why it aborted, or what its pull request waits for.")
    test_report: TestReport | None
    mission: str | None = Field(default=None, description="A tool agent's mission.")
    kind: str | None = Field(default=None, description="spawned (code in a repository) or tool.")
    tools: list[str] | None = Field(default=None, description="The tools assigned to it.")
    created_at: str | None
    updated_at: str | None


class SpawnResponse(AgentResponse):
    waiting_for: str | None = Field(
        default=None, description="awaiting_ci / awaiting_approval: the unmet conditions."
    )


class AgentListResponse(BaseModel):
    items: list[AgentResponse]


class AgentImportRequest(BaseModel):
    build: bool = Field(default=False, description="Also build it (import only by default).")


class PullResponse(BaseModel):
    """A pull request on the forge (a row of `phoenix pr list`)."""

    id: str = Field(description="owner/repo#number")
    repo: str
    number: int
    state: str = Field(description="open or closed")
    merged: bool
    head_sha: str
    ci: str = Field(description="CI over every commit status and check run of the head.")
    approvals: list[str] = Field(description="Who approved it, its author not counted.")
    title: str
    url: str


class PullListResponse(BaseModel):
    items: list[PullResponse]


class ApproveResponse(BaseModel):
    id: str
    approved_by: str
    review_id: int
    head_sha: str
    resumed_runs: list[str] = Field(description="The enforce-pr runs the approval woke.")


class MergeRequest(BaseModel):
    method: Literal["merge", "squash", "rebase"] | SkipJsonSchema[None] = Field(
        default=None, description="Default: PHOENIX_MERGE_METHOD (merge)."
    )


class MergeResponse(BaseModel):
    id: str
    merged: bool
    merge_sha: str
    method: str
    head_sha: str
    merged_by: str | None
    reason: str


class SystemStatusResponse(SystemStatus):
    """The machine Phoenix runs on (`system status`)."""


class SystemExecRequest(BaseModel):
    argv: list[Annotated[str, Field(max_length=100_000)]] = Field(
        min_length=1,
        max_length=MAX_ARGUMENTS,
        description="The program and its arguments, run without a shell in the workspace.",
    )


class SystemExecResponse(ExecResult):
    """What the program did; a non-zero exit is a 502 (command_failed) with the same fields."""


class SystemReadRequest(BaseModel):
    path: Text = Field(description="A file relative to the workspace (PHOENIX_WORKSPACE).")


class SystemFileResponse(FileContent):
    """A text file of the workspace."""


class SystemWriteRequest(SystemReadRequest):
    content: str = Field(description="UTF-8 text; the file is replaced whole (temp file, rename).")


class SystemWrittenResponse(WrittenFile):
    """A file written into the workspace."""


class VectorStoreRequest(BaseModel):
    # Documented as non-blank but checked by the flow, so that a blank text is the 400 (bad_input)
    # of Phoenix's contract rather than the 422 of a schema violation.
    text: str = Field(
        max_length=1_000_000,
        description="The text to remember by its meaning; empty or blank is a 400 (bad_input).",
        json_schema_extra={"minLength": 1, "pattern": NOT_BLANK},
    )
    metadata: dict[str, str | int | float | bool] | None = Field(
        default=None, description="A flat object of strings, numbers and booleans, filterable."
    )


class VectorItemResponse(VectorItem):
    """A remembered text; `created` is false when the same text was already there."""


class VectorSearchResponse(VectorSearchResult):
    """The closest texts, best first, each with its cosine similarity `score`."""


class VectorListResponse(VectorList):
    """The newest texts of the configured embedding model, and how many there are in all."""
