"""`phoenix`, the command line.

Every command takes `--json` and then prints exactly one JSON document on stdout (logs go to stderr);
without it, `phoenix.human` prints the result for people.  The exit status is 0 on success, 1 on a
failed operation (a result of type "error" included) and 2 on a usage error (docs/design.md,
"Command line").
Prefect and litellm are imported only once a command needs them, so `phoenix --help` is instant, and
commands reuse a running Prefect server (`phoenix.prefect_server`) instead of starting one each time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from phoenix import __version__
from phoenix.cancellation import RunCancelled
from phoenix.errors import PhoenixError, UsageError, exit_code_for
from phoenix.settings import MAX_ORCHS, SettingsError, load_settings

Handler = Callable[[argparse.Namespace], dict[str, Any]]
NO_WAIT_HELP = "submit the run to `phoenix serve`, print its id and return (follow: phoenix runs show)"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as `UsageError` so --json can print them as JSON."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _prepare_prefect() -> None:
    """Point this process at a running Prefect server (starting Phoenix's own if there is none)."""
    from phoenix.daemon import CLI_LOG_LEVEL
    from phoenix.prefect_server import ensure_prefect_api

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", CLI_LOG_LEVEL)
    ensure_prefect_api(load_settings())


def run_flow(name: str, parameters: dict[str, Any]) -> Any:
    """Run a flow on the local Phoenix service, or in this process when it must run here."""
    from phoenix import daemon

    client = daemon.connect(load_settings(), dict(os.environ))
    if client is not None:
        return client.run_flow(name, parameters)
    _prepare_prefect()
    from flows import one_line_per_failure_on_console
    from flows import run_flow as run_flow_here

    one_line_per_failure_on_console()
    return run_flow_here(name, parameters)


def _run_command(options: argparse.Namespace) -> dict[str, Any]:
    return run_flow("router", {"command": " ".join(options.text)})


def _run_propose(options: argparse.Namespace) -> dict[str, Any]:
    if not 1 <= options.n <= MAX_ORCHS:
        raise UsageError(f"-n must be between 1 and {MAX_ORCHS}, not {options.n}")
    if not options.seed.strip():
        raise UsageError("propose needs a seed: what should be improved?")
    parameters = {"seed": options.seed, "n": options.n, "task_runner": options.task_runner}
    if options.no_wait:
        return _submit("propose-improvements", parameters)
    return run_flow("propose-improvements", parameters)


def _submit(flow: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """`--no-wait`: submit the run to the flow's deployment (served by `phoenix serve`) and return.

    The parameters are checked first, as the synchronous command checks them (a usage error exits
    2 before Prefect is even imported); then the run goes to Prefect directly, not to the service.
    """
    from phoenix import deployment_runs

    checked = deployment_runs.deployment_parameters(flow, parameters)
    if flow == "ecosystem-command":
        run_flow("ecosystem-command", {"command": "show", "repo_id": checked["repo_id"]})
    _prepare_prefect()
    submitted = deployment_runs.submit(flow, checked)
    return submitted.model_dump(exclude_none=True)


def _run_runs(options: argparse.Namespace) -> dict[str, Any]:
    """`phoenix runs show RUN_ID [--wait]`: a submitted run's state, and its result once finished."""
    from phoenix import deployment_runs

    deployment_runs.parse_run_id(options.run_id)  # a usage error before Prefect starts
    _prepare_prefect()
    if not options.wait:
        return deployment_runs.read_run(options.run_id).model_dump(exclude_none=True)
    seen: set[str] = set()

    def say_state(document: deployment_runs.RunDocument) -> None:
        if not getattr(options, "json", False) and document.state not in seen:
            seen.add(document.state)
            print(f"phoenix: the run {document.name} is {document.state} ...", file=sys.stderr)

    try:
        document = deployment_runs.wait_for_run(options.run_id, say_state)
    except KeyboardInterrupt:
        raise RunCancelled(
            f"stopped waiting; the run goes on (`phoenix runs show {options.run_id}`)"
        ) from None
    return document.model_dump(exclude_none=True)


def _failure_code(options: argparse.Namespace, result: dict[str, Any]) -> str | None:
    """The error code a result carries (None on success); a run's document carries its run's."""
    if options.group == "runs":
        from phoenix.deployment_runs import RunDocument, failure_code

        return failure_code(RunDocument.model_validate(result))
    return result.get("code", "failed") if result.get("type") == "error" else None


def _run_memory(options: argparse.Namespace) -> dict[str, Any]:
    if options.action == "store":
        parameters = {"action": "store", "key": options.key, "value": options.value}
    elif options.action == "search":
        parameters = {"action": "search", "query": options.query, "limit": options.limit}
        if options.episodes:
            parameters["episodes"] = True
    elif options.action.startswith("vector-"):
        from phoenix.cli_memory import vector_parameters

        parameters = vector_parameters(options)
    else:
        parameters = {"action": options.action, "key": options.key}
    return run_flow("memory", parameters)


def _local_source(source: str) -> str:
    """A folder given relative to this shell, made absolute: the flow may run in another folder."""
    candidate = Path(source).expanduser()
    if "://" not in source and candidate.is_dir():
        return str(candidate.resolve())
    return source


def _run_ecosystem(options: argparse.Namespace) -> dict[str, Any]:
    if options.action == "import":
        parameters = {
            "source": _local_source(options.source),
            "branch": options.branch,
            "build": options.build,
        }
        if options.no_wait:
            return _submit("import-and-build-repo", parameters)
        return run_flow("import-and-build-repo", parameters)
    if options.action == "list":
        return run_flow("ecosystem-command", {"command": "list"})
    if options.action == "health":
        return run_flow("service-health", {})
    if options.action == "restart-policy":
        words = [options.policy] + ([options.limit] if options.limit is not None else [])
        return run_flow(
            "ecosystem-command", {"command": "restart-policy", "repo_id": options.id, "args": words}
        )
    if options.action == "build" and options.no_wait:
        return _submit("ecosystem-command", {"command": "build", "repo_id": options.id})
    command = options.command if options.action == "run" else options.action
    arguments = list(getattr(options, "args", None) or [])
    if options.action == "start" and options.command:
        arguments = [options.command]
    return run_flow("ecosystem-command", {"command": command, "repo_id": options.id, "args": arguments})


def _run_api(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix.api.server import check_bind_address, serve_api

    check_bind_address(options.host, load_settings())  # a usage error before Prefect starts
    _prepare_prefect()

    serve_api(host=options.host, port=options.port)
    return {"stopped": True}


def _run_serve(options: argparse.Namespace) -> dict[str, Any]:
    """Serve every deployment until Ctrl-C; the runner prints what it serves and each run it takes."""
    from phoenix.schedules import load_schedule_settings

    if options.limit is not None and options.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {options.limit}")
    if options.poll <= 0:
        raise UsageError(f"--poll must be a positive number of seconds, not {options.poll}")
    schedules = load_schedule_settings(os.environ)  # a usage error before Prefect starts
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")  # the runner's "submitting flow run"
    _prepare_prefect()
    from flows.deployments import serve_deployments

    served = serve_deployments(schedules, options.limit, options.poll, announce=not options.json)
    return {"stopped": True, "deployments": served}


def _run_server(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix import daemon, prefect_server

    settings = load_settings()
    if options.action == "start":
        client = daemon.connect(settings, dict(os.environ))
        return {
            "running": True,
            "service_url": client.url if client else None,
            "prefect_api_url": os.environ.get("PREFECT_API_URL")
            or prefect_server.ensure_prefect_api(settings),
        }
    if options.action == "stop":
        return {
            "service_stopped": daemon.stop(settings),
            "prefect_stopped": prefect_server.stop_server(settings),
        }
    service = daemon.service(settings).running()
    prefect = prefect_server.running_server(settings)
    # The Prefect server commands use: Phoenix's own, or the user's (PREFECT_API_URL).
    prefect_url = prefect.url if prefect else os.environ.get("PREFECT_API_URL")
    return {
        "service_url": service.url if service else None,
        "service_pid": service.pid if service else None,
        "prefect_api_url": prefect_url,
        "prefect_ui_url": prefect_server.ui_url(prefect_url) if prefect_url else None,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="phoenix", description="Phoenix: LLM agents orchestrated by Prefect.")
    parser.add_argument("--version", action="version", version=f"phoenix {__version__}")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    commands = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    command = commands.add_parser("command", help="run a router command (try: phoenix command help)")
    command.add_argument("text", nargs="+", help="the command text, e.g. 'memory get k'")
    command.set_defaults(handler=_run_command)

    propose = commands.add_parser("propose", help="N sub-agents each propose one improvement")
    propose.add_argument("seed", help="what to improve")
    propose.add_argument("-n", type=int, default=5, help=f"how many ORCHs (1-{MAX_ORCHS})")
    propose.add_argument("--task-runner", choices=["threads", "dask"], default="threads")
    propose.add_argument("--no-wait", action="store_true", help=NO_WAIT_HELP)
    propose.set_defaults(handler=_run_propose)

    memory = commands.add_parser("memory", help="key-value memory")
    actions = memory.add_subparsers(dest="action", required=True, parser_class=_Parser)
    store = actions.add_parser("store", help="remember VALUE under KEY")
    store.add_argument("key")
    store.add_argument("value")
    get = actions.add_parser("get", help="recall KEY")
    get.add_argument("key")
    search = actions.add_parser("search", help="keys starting with, or values containing, QUERY")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=None, help="most results (default 20)")
    search.add_argument(
        "--episodes", action="store_true", help="include conversation turns (episode/...)"
    )
    delete = actions.add_parser("delete", help="forget KEY")
    delete.add_argument("key")
    from phoenix.cli_memory import add_vector_commands

    add_vector_commands(actions)
    memory.set_defaults(handler=_run_memory)

    ecosystem = commands.add_parser("ecosystem", help="imported repositories: build, run, manage")
    verbs = ecosystem.add_subparsers(dest="action", required=True, parser_class=_Parser)
    importing = verbs.add_parser("import", help="clone a git URL, local folder or OWNER/REPO")
    importing.add_argument("source", help="git URL, local path or OWNER/REPO")
    importing.add_argument("--branch", default=None, help="branch (default: the repo's default)")
    importing.add_argument("--build", action="store_true", help="build it right after importing")
    importing.add_argument("--no-wait", action="store_true", help=NO_WAIT_HELP)
    verbs.add_parser("list", help="every imported repository")
    for verb, text in [
        ("show", "the repository's record"),
        ("status", "its build and service status"),
        ("build", "build it"),
        ("stop", "stop its service"),
        ("logs", "the tail of its service log"),
        ("remove", "stop it, delete its clone and its record"),
    ]:
        verbs.add_parser(verb, help=text).add_argument("id")
    verbs.choices["build"].add_argument("--no-wait", action="store_true", help=NO_WAIT_HELP)
    policy = verbs.add_parser(
        "restart-policy", help="restart its service when it fails: never | on-failure [LIMIT]"
    )
    policy.add_argument("id")
    policy.add_argument("policy", choices=["never", "on-failure"])
    policy.add_argument("limit", nargs="?", default=None, help="most automatic restarts")
    verbs.add_parser(
        "health", help="check every service now and restart the failed ones their policy names"
    )
    start = verbs.add_parser("start", help="start it as a supervised service")
    start.add_argument("id")
    start.add_argument("command", nargs="?", default=None, help="a discovered command")
    run = verbs.add_parser("run", help="run one of its discovered commands")
    run.add_argument("id")
    run.add_argument("command")
    run.add_argument("args", nargs=argparse.REMAINDER)
    env = verbs.add_parser(
        "env", help="variables its builds, commands and service get (KEY=VALUE sets, KEY= unsets)"
    )
    env.add_argument("id")
    env.add_argument("args", nargs="*", metavar="KEY=VALUE", help="none: list the names")
    ecosystem.set_defaults(handler=_run_ecosystem)

    from phoenix.cli_agents import add_agent_commands

    add_agent_commands(commands, _Parser)
    from phoenix.cli_tools import add_tool_commands

    add_tool_commands(commands, _Parser)
    from phoenix.cli_mcp import add_mcp_command

    add_mcp_command(commands, _Parser)

    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8888)
    api.set_defaults(handler=_run_api)

    serve = commands.add_parser(
        "serve",
        help="serve every flow as a deployment (UI, schedules, API-triggered runs)",
        description="Serve every flow as the deployment <flow>/phoenix until Ctrl-C. Schedules, "
        "off unless set: PHOENIX_HEALTH_EVERY=SECONDS (service health checks), "
        "PHOENIX_PROPOSE_CRON with PHOENIX_PROPOSE_SEED [PHOENIX_PROPOSE_N] (a scheduled propose).",
    )
    serve.add_argument("--limit", type=int, default=None, help="most flow runs at once")
    serve.add_argument(
        "--poll", type=float, default=2.0, help="seconds between checks for new runs (default 2)"
    )
    serve.set_defaults(handler=_run_serve)

    runs = commands.add_parser("runs", help="runs started with --no-wait (or by the API, the UI)")
    run_verbs = runs.add_subparsers(dest="action", required=True, parser_class=_Parser)
    show_run = run_verbs.add_parser("show", help="a run's state, and its result once finished")
    show_run.add_argument("run_id", help="the run id --no-wait printed")
    show_run.add_argument("--wait", action="store_true", help="wait until the run finished")
    runs.set_defaults(handler=_run_runs)

    server = commands.add_parser(
        "server", help="the local Phoenix service and Prefect server that commands reuse"
    )
    server.add_argument("action", choices=["start", "stop", "status"])
    server.set_defaults(handler=_run_server)

    forge = commands.add_parser("forge", help="the local GitHub-compatible forge of PHOENIX_HOME")
    forge_verbs = forge.add_subparsers(dest="action", required=True, parser_class=_Parser)
    forge_serve = forge_verbs.add_parser("serve", help="serve the forge here until Ctrl-C")
    forge_serve.add_argument("--port", type=int, default=0, help="default: a free port")
    forge_token = forge_verbs.add_parser("token", help="issue a token for USER (created if new)")
    forge_token.add_argument("user")
    forge_token.add_argument("--org", default=None, help="also make USER a member of ORG")
    forge.set_defaults(handler=_run_forge)
    return parser


def _run_forge(options: argparse.Namespace) -> dict[str, Any]:
    import contextlib

    from phoenix.forge import server

    settings = load_settings()
    if options.action == "token":
        return server.issue_token(settings, options.user, options.org)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a foreground forge stops
        server.serve(settings, options.port)
    return {"stopped": True}


def _kind(options: argparse.Namespace) -> str:
    """What was asked, for `phoenix.human` to render: "propose", "memory.search", "server.stop"..."""
    action = getattr(options, "action", None)
    return f"{options.group}.{action}" if action else str(options.group)


def _show(options: argparse.Namespace, result: dict[str, Any]) -> None:
    from phoenix import human

    if options.group == "memory" and options.action == "search":
        result = result | {"query": options.query}  # the header says what was searched for
    if getattr(options, "no_wait", False):
        human.show("run.submitted", result)
        return
    human.show(_kind(options), result)


def _extract_json_flag(argv: Sequence[str]) -> tuple[list[str], bool]:
    """`--json` may stand anywhere before a `--`."""
    arguments = list(argv)
    end = arguments.index("--") if "--" in arguments else len(arguments)
    wanted = "--json" in arguments[:end]
    if wanted:
        arguments = [a for a in arguments[:end] if a != "--json"] + arguments[end:]
    return arguments, wanted


def main(argv: Sequence[str] | None = None) -> int:
    arguments, as_json = _extract_json_flag(sys.argv[1:] if argv is None else argv)
    try:
        options = build_parser().parse_args(arguments)
        options.json = as_json
        result = options.handler(options)
    except PhoenixError as error:
        return _report_error(error.message, error.code, as_json)
    except SettingsError as error:
        return _report_error(str(error), UsageError.code, as_json)
    except KeyboardInterrupt:
        # The closed connection tells the local service to cancel the flow run it was running.
        return _report_error("interrupted: the flow run is cancelled", RunCancelled.code, as_json)
    code = _failure_code(options, result)
    if as_json:
        print(json.dumps(result, default=str))
    else:
        _show(options, result)
    return exit_code_for(code) if code else 0


def _report_error(message: str, code: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"type": "error", "message": message, "code": code}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return exit_code_for(code)


if __name__ == "__main__":
    sys.exit(main())
