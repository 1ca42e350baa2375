"""Runs that return at once: a flow run submitted to its deployment, and its state read back later.

The HTTP API (`?wait=false`, `Prefer: respond-async`) and the CLI (`--no-wait`) hand long operations
to the deployment `<flow>/phoenix` that `phoenix serve` (or a Prefect worker) serves, instead of
running the flow in their own process.  Prefect then keeps everything: the run, its state, and —
because the served flows persist their results — the result, which any process sharing
PREFECT_HOME's result storage reads back with `read_run`.

Three rules this module enforces before anything is submitted, so that a run is never created
that cannot do what was asked:

- the deployment exists and a runner polls it (Prefect's deployment status READY), otherwise
  `NotServed` (503): a run scheduled for nobody would wait forever;
- the parameters are those the synchronous call accepts (`UsageError` otherwise), checked here
  because Prefect would only refuse them as a schema mismatch;
- no credential rides in a source URL: a deployment's parameters are stored by Prefect, and the
  synchronous path's trick (the token handed over in-process, `credentials_out_of_band`) cannot
  cross to a runner.

Part of the core: it imports neither `flows` nor `tasks`, and Prefect only inside functions, since
the CLI and the API import it before Prefect's settings are configured.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from phoenix.agents.naming import name_from_description, normalise_agent_name
from phoenix.ecosystem.source import split_credentials
from phoenix.errors import BadInput, NotFound, PhoenixError, UsageError
from phoenix.settings import MAX_ORCHS

DEPLOYMENT = "phoenix"
"""Every flow is served as `<flow-name>/phoenix` (docs/design.md, "Prefect names")."""

REPO_ID_PATTERN = r"^[0-9a-f]{10}$"
FAILED_STATES = frozenset({"FAILED", "CRASHED", "CANCELLED"})

Text = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]


class NotServed(PhoenixError):
    """No runner serves the deployment a run would be submitted to."""

    code = "not_served"
    http_status = 503
    exit_code = 1


class SubmittedRun(BaseModel):
    """What a caller needs to follow a run it did not wait for."""

    run_id: str = Field(description="The Prefect flow-run id.")
    flow: str = Field(description="The flow's name, e.g. propose-improvements.")
    name: str = Field(description="The flow run's name (as the Prefect UI shows it).")
    ui_url: str | None = Field(default=None, description="The run's page in the Prefect UI.")


class RunDocument(BaseModel):
    """A flow run's state, and its result or error once it finished."""

    run_id: str
    flow: str = Field(description="The flow's name.")
    name: str = Field(description="The flow run's name.")
    state: str = Field(description="The state's name: Scheduled, Running, Completed, Failed, …")
    state_type: str = Field(description="SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, …")
    finished: bool = Field(description="Whether the state is final.")
    result: Any | None = Field(
        default=None,
        description="Once COMPLETED: the flow's JSON result, as the synchronous call returns it.",
    )
    error: str | None = Field(
        default=None, description="Once FAILED, CRASHED or CANCELLED: what went wrong."
    )
    ui_url: str | None = Field(default=None, description="The run's page in the Prefect UI.")


# --- which operations are long, and the parameters their deployments take -------------------------


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposeParameters(_Parameters):
    seed: Text
    n: int = Field(default=5, ge=1, le=MAX_ORCHS)
    task_runner: Literal["threads"] = Field(
        default="threads",
        description="A deployment runs its ORCHs on threads; dask is for synchronous calls.",
    )

    def deployment_parameters(self) -> dict[str, Any]:
        return {"seed": self.seed.strip(), "n": self.n}


class ImportParameters(_Parameters):
    source: Text
    branch: str | None = None
    build: bool = True

    def deployment_parameters(self) -> dict[str, Any]:
        return {"source": self.source.strip(), "branch": self.branch, "build": self.build}


class EcosystemParameters(_Parameters):
    command: Text
    repo_id: str | None = None
    args: list[str] | None = None

    def deployment_parameters(self) -> dict[str, Any]:
        return {"command": self.command.strip().lower(), "repo_id": self.repo_id, "args": self.args}


class SpawnParameters(_Parameters):
    description: Text
    name: str | None = None
    tier: Literal["free", "paid", "enterprise"] | None = None

    def deployment_parameters(self) -> dict[str, Any]:
        """The parameters, once the flow's own checks of the name pass (`BadInput` otherwise): a
        name that cannot name an agent is refused now, not by a run that fails later."""
        description = " ".join(self.description.split())
        name = self.name.strip() if self.name and self.name.strip() else None
        if name is not None:
            normalise_agent_name(name)
        else:
            name_from_description(description)
        return {"description": description, "name": name, "tier": self.tier}


PARAMETERS: dict[str, type[_Parameters]] = {
    "propose-improvements": ProposeParameters,
    "import-and-build-repo": ImportParameters,
    "ecosystem-command": EcosystemParameters,
    "spawn-agent": SpawnParameters,
}


def is_long(flow: str, parameters: dict[str, Any]) -> bool:
    """Whether `flow` with `parameters` is a long operation, which may run asynchronously.

    Long: propose (any N), import with build (the flow builds unless `build` is false), the
    ecosystem's `build`, and spawn-agent (an LLM, cargo test and a pull request).  Everything else
    (memory, list, show, status, stop, a repository command, the router, speak) stays synchronous:
    RFC 7240 lets a server ignore a preference.
    """
    if flow in ("propose-improvements", "spawn-agent"):
        return True
    if flow == "import-and-build-repo":
        return parameters.get("build", True) is not False
    if flow == "ecosystem-command":
        command = parameters.get("command")
        return isinstance(command, str) and command.strip().lower() == "build"
    return False


def deployment_parameters(flow: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters to give the deployment of `flow`, checked as the synchronous call checks them.

    Raises `UsageError` for parameters the flow does not take or values it refuses, `NotFound` for
    a repository id that cannot be one, and `BadInput` for a source URL that carries a credential.
    """
    model = PARAMETERS.get(flow)
    if model is None:
        raise UsageError(f"{flow} does not run asynchronously; call it without ?wait=false")
    try:
        checked = model.model_validate(parameters)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'parameters'}: {e['msg']}" for e in error.errors()
        )
        raise UsageError(f"Bad parameters for {flow}: {problems}") from None
    if isinstance(checked, EcosystemParameters):
        check_repo_id(checked.repo_id)
    if isinstance(checked, ImportParameters):
        refuse_credentials(checked.source)
    return checked.deployment_parameters()


def check_repo_id(repo_id: str | None) -> str:
    """`repo_id` when it can be a repository's id; `NotFound` otherwise, as an unknown id is."""
    import re

    if not repo_id or not re.fullmatch(REPO_ID_PATTERN, repo_id):
        raise NotFound(f"No imported repository with id {repo_id!r} (see: phoenix ecosystem list)")
    return repo_id


def refuse_credentials(source: str) -> None:
    """`BadInput` when `source` carries a credential, which a deployment's parameters would keep."""
    clean, credential = split_credentials(source.strip())
    if credential is not None:
        raise BadInput(
            f"{clean!r} carries a credential, and an asynchronous run's parameters are stored by"
            " Prefect: set GITHUB_PAT where `phoenix serve` runs (it is sent as a header), or import"
            " synchronously (without ?wait=false / --no-wait)"
        )


# --- Prefect ----------------------------------------------------------------------------------------


def deployment_name(flow: str) -> str:
    return f"{flow}/{DEPLOYMENT}"


def run_ui_url(run_id: str) -> str | None:
    """The run's page in the Prefect UI beside the API this process uses (None without one)."""
    from phoenix.prefect_server import ui_url

    api_url = os.environ.get("PREFECT_API_URL")
    return f"{ui_url(api_url)}/v2/runs/flow-run/{run_id}" if api_url else None


async def asubmit(flow: str, parameters: dict[str, Any]) -> SubmittedRun:
    """Create a flow run of `flow`'s deployment with `parameters` (already checked) and return.

    Raises `NotServed` when the deployment does not exist or no runner polls it, and `UsageError`
    when Prefect refuses the parameters against the deployment's schema.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import DeploymentStatus
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    name = deployment_name(flow)
    async with get_client() as client:
        try:
            deployment = await client.read_deployment_by_name(name)
        except ObjectNotFound:
            raise NotServed(
                f"No deployment {name} on the Prefect server: start `phoenix serve` (or deploy"
                " prefect.yaml and start a worker), then ask again"
            ) from None
        if deployment.status != DeploymentStatus.READY:
            raise NotServed(
                f"Nothing serves the deployment {name} (no runner or worker polls it): start"
                " `phoenix serve` (or a worker), then ask again"
            )
        try:
            run = await client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
        except PrefectHTTPStatusError as error:
            if error.response.status_code in (409, 422):
                detail = error.response.json().get("detail", error.response.text)
                raise UsageError(f"Bad parameters for {flow}: {detail}") from None
            raise
    return SubmittedRun(run_id=str(run.id), flow=flow, name=run.name, ui_url=run_ui_url(str(run.id)))


def submit(flow: str, parameters: dict[str, Any]) -> SubmittedRun:
    """`asubmit` for a caller without an event loop (the CLI)."""
    return asyncio.run(asubmit(flow, parameters))


def parse_run_id(text: str) -> uuid.UUID:
    """A flow-run id, or `UsageError` for text that cannot be one."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise UsageError(f"{text!r} is not a flow-run id (a UUID)") from None


async def aread_run(run_id: uuid.UUID) -> RunDocument:
    """The state of the flow run `run_id`, with its result or error once it finished.

    Raises `NotFound` for a run the Prefect server does not know.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            run = await client.read_flow_run(run_id)
        except ObjectNotFound:
            raise NotFound(f"No flow run with id {run_id}") from None
        flow = await client.read_flow(run.flow_id)
    document = RunDocument(
        run_id=str(run.id),
        flow=flow.name,
        name=run.name,
        state=run.state.name if run.state else "Unknown",
        state_type=run.state.type.value if run.state else "UNKNOWN",
        finished=bool(run.state and run.state.is_final()),
        ui_url=run_ui_url(str(run.id)),
    )
    if run.state is None or not document.finished:
        return document
    if document.state_type == "COMPLETED":
        return document.model_copy(update={"result": await _result(run.state)})
    if document.state_type in FAILED_STATES:
        return document.model_copy(update={"error": await _error(run.state)})
    return document


async def _result(state: Any) -> Any:
    """The persisted result of a completed run, as JSON-ready data."""
    from prefect.exceptions import MissingResult
    from pydantic_core import to_jsonable_python

    try:
        value = await state.aresult(raise_on_failure=False)
    except MissingResult:
        return None  # persistence was off for this run: there is no result to read back
    return to_jsonable_python(value, fallback=str)


async def _error(state: Any) -> str:
    """Why a run failed: its exception's own message when it can be read, else the state's."""
    try:
        error = await state.aresult(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - the state's message still says what happened
        error = None
    if isinstance(error, BaseException) and str(error).strip():
        return str(error)
    return state.message or f"The run ended {state.name}"


def read_run(run_id: str) -> RunDocument:
    """`aread_run` for the CLI: `UsageError` for an id that is not one."""
    return asyncio.run(aread_run(parse_run_id(run_id)))


def wait_for_run(
    run_id: str, on_poll: Callable[[RunDocument], None] | None = None, longest_pause_s: float = 1.0
) -> RunDocument:
    """Read the run until it finished, pausing a little longer each time (at most `longest_pause_s`)."""
    parsed = parse_run_id(run_id)

    async def follow() -> RunDocument:
        pause = 0.1
        while True:
            document = await aread_run(parsed)
            if document.finished:
                return document
            if on_poll is not None:
                on_poll(document)
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, longest_pause_s)

    return asyncio.run(follow())


def failure_code(document: RunDocument) -> str | None:
    """The error code of a finished run that failed (None if it succeeded or runs on).

    A run can fail two ways: its state (Failed, Crashed, Cancelled), or a completed run whose result
    is a failed operation (`"type": "error"`, a build that failed, say).
    """
    if document.state_type in FAILED_STATES:
        return "failed"  # exit 1, a cancelled run included: this command was not interrupted
    result = document.result
    if isinstance(result, dict) and result.get("type") == "error":
        return str(result.get("code") or "failed")
    return None
