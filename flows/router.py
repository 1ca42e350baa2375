"""router: one text command in, the matching capability run as a subflow, one envelope out.

The grammar lives in `phoenix.commands`; this flow only dispatches.  Every reply is an envelope
`{"type", "message", ...}`; a bad command is an error envelope with a usage line, never an exception,
so the CLI, the HTTP API and the Prefect UI all see the same answer.
"""

from __future__ import annotations

from typing import Any

from prefect import State, flow
from prefect.exceptions import CancelledRun
from prefect.states import Cancelled

from flows.ecosystem import ecosystem_command
from flows.memory import memory
from flows.propose import propose_improvements
from flows.run_names import router_run_name
from flows.speak import speak
from phoenix.cancellation import CANCELLED_MESSAGE
from phoenix.commands import (
    HELP_TEXT,
    CollaborateCommand,
    Command,
    EcosystemCommand,
    HelpCommand,
    MemoryCommand,
    ProposeCommand,
    SpawnCommand,
    SpeakCommand,
    StatusCommand,
    SystemCommand,
    capabilities,
    parse_command,
)
from phoenix.envelope import error_envelope
from phoenix.errors import NotAvailable, PhoenixError
from tasks.status import read_status


def _memory_envelope(command: MemoryCommand) -> dict[str, Any]:
    if command.action.startswith("vector-"):
        return _vector_envelope(command)
    result = memory(
        action=command.action,
        key=command.key,
        value=command.value,
        query=command.query,
        limit=command.limit,
    )
    if command.action == "search":
        message = f"{result['count']} memories match {command.query!r}"
        return {
            "type": "memory",
            "action": "search",
            "query": command.query,
            "message": message,
            **result,
        }
    verb = {"store": "Stored", "get": "Recalled", "delete": "Deleted"}[command.action]
    return {
        "type": "memory",
        "action": command.action,
        "message": f"{verb} {result['key']!r}: {result['value']}",
        **result,
    }


def _vector_envelope(command: MemoryCommand) -> dict[str, Any]:
    if command.action == "vector-store":
        result = memory(action="vector-store", value=command.value)
        verb = "Remembered" if result["created"] else "Already remembered"
        message = f"{verb} {result['text']!r} (id {result['id']})"
    elif command.action == "vector-search":
        result = memory(action="vector-search", query=command.query, k=command.limit)
        lines = [f"{result['count']} memories closest to {command.query!r}:"]
        lines += [f"{item['score']:.3f}  {item['text']}" for item in result["items"]]
        message = "\n".join(lines)
    else:
        result = memory(action="vector-all", limit=command.limit)
        message = f"{result['count']} of {result['total']} vector memories, newest first"
    return {"type": "memory", "action": command.action, "message": message, **result}


def _propose_envelope(command: ProposeCommand) -> dict[str, Any]:
    result = propose_improvements(seed=command.topic, n=command.n)
    if result.get("type") == "error":
        return result  # no ORCH proposed anything: a failed operation, its record kept
    lines = [f"{result['succeeded']} of {result['n']} proposals for {command.topic!r}:"]
    for item in result["results"]:
        outcome = item["proposal"] if item["proposal"] is not None else f"(failed) {item['error']}"
        lines.append(f"{item['index'] + 1}. {outcome}")
    return {"type": "propose", "message": "\n".join(lines), **result}


def _ecosystem_message(verb: str, result: dict[str, Any]) -> str:
    if verb == "remove":
        return f"Removed {result['name']} ({result['id']})"
    if verb == "logs":
        return result["log"] or "(the service has written nothing yet)"
    if verb == "env":
        names = ", ".join(result.get("variables") or []) or "none"
        return f"Variables of {result['id']}: {names}"
    if "exit_code" in result and "build_status" not in result:
        return f"{result['command']} exited with {result['exit_code']}\n{result['stdout']}"
    return (
        f"{result['name']} ({result['id']}): {result.get('build_system') or 'no build system'},"
        f" build {result['build_status']}, service {result['service_status']}"
    )


def _ecosystem_envelope(command: EcosystemCommand) -> dict[str, Any]:
    """The flow's result as an envelope; a failed build or command stays a failure (type "error")."""
    result = ecosystem_command(command=command.command, repo_id=command.repo_id, args=command.args)
    verb = command.command.lower()
    if result.get("type") == "error":
        # failed_result: the flow's data, its error code and its message, kept as they are.
        return {"verb": verb, **result}
    return {"type": "ecosystem", "verb": verb, "message": _ecosystem_message(verb, result), **result}


def _spawn_envelope(command: SpawnCommand) -> dict[str, Any]:
    """The spawn's result as an envelope; an aborted or refused spawn stays a failure."""
    from flows.spawn_agent import spawn_agent

    result = spawn_agent(description=command.description, name=command.name)
    if result.get("type") == "error":
        return result
    waiting = f", waiting for: {result['waiting_for']}" if result.get("waiting_for") else ""
    where = result.get("pr_url") or result.get("repo_url") or ""
    message = f"Agent {result['name']} ({result['id']}): {result['status']}{waiting} {where}".strip()
    return {"type": "spawn", "message": message, **result}


def _system_envelope(command: SystemCommand) -> dict[str, Any]:
    """The system flow's result as an envelope; a failed exec stays a failure (type "error")."""
    from flows.system import system
    from phoenix.system.human import system_message

    result = system(action=command.action, argv=command.argv, path=command.path, content=command.content)
    if result.get("type") == "error":
        return {"action": command.action, **result}
    return {
        "type": "system",
        "action": command.action,
        "message": system_message(command.action, result),
        **result,
    }


def _collaborate_envelope(command: CollaborateCommand) -> dict[str, Any]:
    """The collaboration's result as an envelope: the merged answer is the message."""
    from flows.collaborate import collaborate

    result = collaborate(task=command.task)
    if not isinstance(result, dict) or result.get("type") == "error":
        return result  # every sub-task failed (the record kept), or cancelled
    return {"type": "collaborate", "message": result["answer"], **result}


def dispatch(command: Command) -> dict[str, Any]:
    """Run the capability behind a parsed command and shape its reply as an envelope."""
    match command:
        case HelpCommand():
            return {"type": "help", "message": HELP_TEXT}
        case StatusCommand():
            status = read_status() | {"capabilities": capabilities()}
            message = (
                f"Phoenix {status['version']}: {status['memory_items']} memories, "
                f"{status['propose_runs']} propose runs, model {status['model']}"
            )
            return {"type": "status", "message": message, **status}
        case ProposeCommand():
            return _propose_envelope(command)
        case MemoryCommand():
            return _memory_envelope(command)
        case SpeakCommand():
            return speak(user_input=command.text)
        case EcosystemCommand():
            return _ecosystem_envelope(command)
        case SpawnCommand():
            return _spawn_envelope(command)
        case SystemCommand():
            return _system_envelope(command)
        case CollaborateCommand():
            return _collaborate_envelope(command)
    raise NotAvailable(f"No route for {command!r}")


@flow(name="router", flow_run_name=router_run_name, validate_parameters=True)
def router(command: str) -> dict[str, Any] | State[Any]:
    """Run one Phoenix command (the text grammar of `help`) and return its envelope.

    Args:
        command: e.g. `propose 3 improvements for a todo app`, `memory get k`, `help`.
    """
    try:
        return dispatch(parse_command(command))
    except PhoenixError as error:
        return error_envelope(error)
    except CancelledRun:
        # The capability's subflow was cancelled because the caller went away: so is this run.
        return Cancelled(message=CANCELLED_MESSAGE)
