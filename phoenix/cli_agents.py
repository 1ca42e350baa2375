"""`phoenix spawn`, `phoenix agents …`, `phoenix collaborate` and `phoenix pr …`: the agents
Phoenix makes, what they do with their tools, and their pull requests (docs/design.md, "Command
line").

`phoenix spawn` runs its flow in this process rather than on the local service, so that each stage
(generate, assemble, cargo test, publish, pull request, enforce) reaches this terminal's stderr as it
happens; a spawn takes tens of seconds, so the second that importing Prefect costs does not show.
`phoenix pr` talks to the forge directly (as a person's browser would), as the local reviewer.
"""

from __future__ import annotations

import argparse
from typing import Any

from phoenix.errors import UsageError
from phoenix.settings import load_settings

PR_HELP = "pull requests on the forge (the local forge: you are its reviewer)"


def add_agent_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """The parsers of spawn, agents and pr, added to `phoenix`'s subcommands."""
    spawn = commands.add_parser("spawn", help="the LLM writes a Rust agent; test, publish, PR")
    spawn.add_argument("text", nargs="+", help="NAME: DESCRIPTION, or a DESCRIPTION alone")
    spawn.add_argument(
        "--tier", choices=["free", "paid", "enterprise"], default=None,
        help="default: read from the description (paid and enterprise agents are private)",
    )  # fmt: skip
    spawn.add_argument(
        "--no-wait", action="store_true",
        help="submit the run to `phoenix serve`, print its id and return",
    )  # fmt: skip
    spawn.set_defaults(handler=run_spawn)

    agents = commands.add_parser("agents", help="the agents: spawned ones and tool agents")
    verbs = agents.add_subparsers(dest="action", required=True, parser_class=parser_class)
    create = verbs.add_parser("create", help="a tool agent: a name and a mission, no code")
    create.add_argument("name", help="letters, digits, '.', '_', '-' (unique)")
    create.add_argument("--mission", default=None, help="what the agent is for")
    verbs.add_parser("list", help="every agent, newest last, with its tools")
    verbs.add_parser("show", help="one agent: its repository, PR and test report").add_argument("id")
    run = verbs.add_parser("run", help="the agent works on TASK with its assigned tools")
    run.add_argument("id", metavar="AGENT", help="its name or id")
    run.add_argument("task", nargs="+", help="what it should do")
    run.add_argument("--steps", type=int, default=None,
                     help="most requests to the model (default PHOENIX_TOOL_STEPS, 8)")  # fmt: skip
    importing = verbs.add_parser("import", help="import an agent's repository into the ecosystem")
    importing.add_argument("id")
    importing.add_argument("--no-build", action="store_true", help="import only, do not build")
    agents.set_defaults(handler=run_agents)

    collaborate = commands.add_parser(
        "collaborate", help="the queen splits TASK among the tool agents and merges their answers"
    )
    collaborate.add_argument("task", nargs="+", help="what the agents should do together")
    collaborate.add_argument("--agents", default=None, help="a,b: only these agents (names or ids)")
    collaborate.add_argument("--steps", type=int, default=None, help="step budget per sub-task")
    collaborate.set_defaults(handler=run_collaborate)

    pulls = commands.add_parser("pr", help=PR_HELP)
    actions = pulls.add_subparsers(dest="action", required=True, parser_class=parser_class)
    actions.add_parser("list", help="pull requests of the repositories Phoenix publishes to")
    actions.add_parser("approve", help="approve ID (OWNER/REPO#N) as the reviewer").add_argument("id")
    merge = actions.add_parser("merge", help="merge ID when CI and approval allow it")
    merge.add_argument("id")
    merge.add_argument("--method", choices=["merge", "squash", "rebase"], default=None,
                       help="default: PHOENIX_MERGE_METHOD (merge)")  # fmt: skip
    pulls.set_defaults(handler=run_pr)


def run_spawn(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix.agents.naming import parse_spawn_command

    text = " ".join(options.text).strip()
    if not text:
        raise UsageError("spawn needs NAME: DESCRIPTION (or a description)")
    request = parse_spawn_command(f"spawn agent {text}")
    parameters = {
        "description": request.description, "name": request.name.display, "tier": options.tier,
    }  # fmt: skip
    from phoenix.cli import _prepare_prefect, _submit

    if options.no_wait:
        return _submit("spawn-agent", parameters)
    _prepare_prefect()
    from flows import one_line_per_failure_on_console, run_flow

    one_line_per_failure_on_console()
    return dict(run_flow("spawn-agent", parameters))


def run_agents(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix.cli import run_flow

    if options.action == "list":
        return dict(run_flow("agents", {"action": "list"}))
    if options.action == "create":
        parameters = {"action": "create", "name": options.name, "mission": options.mission}
        return dict(run_flow("agents", parameters))
    if options.action == "run":
        from phoenix.agents.tool_loop import step_budget

        task = " ".join(options.task).strip()
        if not task:
            raise UsageError("agents run needs a TASK: what should the agent do?")
        step_budget(options.steps)  # a bad --steps is a usage error before anything starts
        parameters = {"agent": options.id, "task": task, "steps": options.steps}
        return dict(run_flow("tool-agent", parameters))
    parameters: dict[str, Any] = {"action": options.action, "agent_id": options.id}
    if options.action == "import":
        parameters["build"] = not options.no_build
    return dict(run_flow("agents", parameters))


def run_collaborate(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix.agents.collaboration import parse_agent_names
    from phoenix.agents.tool_loop import step_budget
    from phoenix.cli import run_flow

    task = " ".join(options.task).strip()
    if not task:
        raise UsageError("collaborate needs a TASK: what should the agents do?")
    step_budget(options.steps)
    names = parse_agent_names(options.agents) if options.agents is not None else None
    return dict(run_flow("collaborate", {"task": task, "agents": names, "steps": options.steps}))


def run_pr(options: argparse.Namespace) -> dict[str, Any]:
    from phoenix.cli import _prepare_prefect
    from phoenix.github.pulls import parse_pull_id

    if options.action != "list":
        parse_pull_id(options.id)  # a bad id is refused before any server is started

    _prepare_prefect()  # the phoenix-github block is read from Phoenix's Prefect server
    from blocks.github import resolve_github_settings
    from phoenix.github import pulls
    from phoenix.github.access import forge_access

    github = resolve_github_settings()
    access = forge_access(load_settings(), github)
    if options.action == "list":
        return {"items": [pull.model_dump(mode="json") for pull in pulls.list_pulls(access)]}
    if options.action == "approve":  # ... which also resumes the enforcer runs waiting for it
        return dict(pulls.approve(access, options.id))
    return dict(pulls.merge(access, options.id, options.method or github.merge_method,
                            require_ci=github.require_ci))  # fmt: skip
