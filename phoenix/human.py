"""Results as people read them: what `phoenix` prints without `--json`.

A record is a title and short aligned labelled fields, a list is a one-line header ("Showing 3
repositories") and a table, an empty list is a sentence that says what to do next, and a failure is
`error: ...` on stderr — for a failed repository command with its exit code and the tail of its
stderr, for a failed build with the tail of its log.  Never a JSON dump, never a traceback: `--json`
is for scripts.  `rich` draws the tables (as in Prefect's own CLI); it is imported only when a table
is printed, so `phoenix --help` and a memory command stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

Result = dict[str, Any]

ERROR_KEYS = frozenset({"type", "message", "code", "verb", "detail"})
TAIL_LINES = 20
IDEA_WIDTH = 140
"""An idea's representative proposal is shortened to this many characters in the ranking."""


@dataclass
class Screen:
    """Where output goes: results on stdout, failures and notes on stderr."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def note(self, text: str) -> None:
        print(text, file=self.err)

    def fields(self, title: str | None, pairs: Iterable[tuple[str, Any]]) -> None:
        """A record: its title, then `Label:  value` lines aligned (empty values left out)."""
        shown = [(label, str(value)) for label, value in pairs if value not in (None, "", [])]
        if title:
            self.line(title)
        width = max((len(label) for label, _ in shown), default=0) + 2
        for label, value in shown:
            indent = "\n" + " " * (width + 2)
            self.line(f"  {label + ':':<{width}}{value.replace(chr(10), indent)}")

    def table(self, header: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """A list: the one-line header, then an aligned table without borders."""
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
        for column in columns:
            table.add_column(column.upper(), overflow="fold")
        for row in rows:
            table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        self.line(header)
        Console(file=self.out, highlight=False, soft_wrap=False).print(table)


def show(kind: str, result: Result, screen: Screen | None = None) -> None:
    """Print `result` of the command `kind` (e.g. "memory.search", "ecosystem.run") for people.

    A failed result (`"type": "error"`) still shows the data it kept, then its error on stderr.
    """
    screen = screen or Screen()
    failed = result.get("type") == "error"
    if failed and set(result) <= ERROR_KEYS:
        screen.note(f"error: {result.get('message', 'failed')}")
        return
    if kind == "command":
        kind = _kind_of_envelope(result, kind)
    RENDERERS.get(kind, _generic)(result, screen)
    if failed:
        _failure(result, screen)


def show_error(message: str, screen: Screen | None = None) -> None:
    (screen or Screen()).note(f"error: {message}")


def _kind_of_envelope(result: Result, fallback: str) -> str:
    """The kind of a router envelope (or of a failed result) from its type and its shape."""
    kind = result.get("type")
    if kind == "memory":
        return f"memory.{result.get('action')}"
    if kind == "ecosystem" or "verb" in result:
        verb = result.get("verb") or "show"
        return f"ecosystem.{verb}" if f"ecosystem.{verb}" in RENDERERS else "ecosystem.run"
    if kind in RENDERERS:
        return str(kind)
    if "results" in result and "succeeded" in result:
        return "propose"
    if "exit_code" in result and "stdout" in result and "build_status" not in result:
        return "ecosystem.run"
    if "build_status" in result:
        return "ecosystem.show"
    return fallback


def _failure(result: Result, screen: Screen) -> None:
    """The error line of a failed result, after what a person needs to see why."""
    if result.get("code") == "build_failed" and result.get("build_log_tail"):
        screen.note("The build log ends with:")
        screen.note(_tail(result["build_log_tail"]))
    message = str(result.get("message") or "failed")
    exit_code = result.get("exit_code")
    failed_command = result.get("code") == "command_failed" and exit_code is not None
    if failed_command and str(exit_code) not in message:
        message += f" (exit code {exit_code})"
    screen.note(f"error: {message}")


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


# --- the router's own replies ---------------------------------------------------------------------


def _message(result: Result, screen: Screen) -> None:
    screen.line(str(result.get("message", "")))


def _status(result: Result, screen: Screen) -> None:
    capabilities = result.get("capabilities") or {}
    model = result.get("model")
    if result.get("llm_api_base"):
        model = f"{model} at {result['llm_api_base']}"
    memories = result.get("memory_items")
    if result.get("episodes"):
        memories = f"{memories} (and {result['episodes']} conversation turns)"
    screen.fields(
        f"Phoenix {result.get('version')}",
        [
            ("Model", model),
            ("LLM calls", _concurrency(result)),
            ("Database", result.get("database")),
            ("Memories", memories),
            ("Propose runs", result.get("propose_runs")),
            ("Prefect API", result.get("prefect_api_url")),
            ("Served by", f"process {result['pid']}" if result.get("pid") else None),
            ("Capabilities", ", ".join(name for name, on in capabilities.items() if on)),
            ("Not yet", ", ".join(name for name, on in capabilities.items() if not on)),
        ],
    )


def _concurrency(result: Result) -> str | None:
    limit = result.get("llm_concurrency")
    return f"at most {limit} at once" if limit else None


def _propose(result: Result, screen: Screen) -> None:
    items = result.get("results") or []
    header = (
        f"{result.get('succeeded', 0)} of {result.get('n', len(items))} ORCHs proposed an"
        f" improvement for {result.get('seed')!r} (run {result.get('run_id')})"
    )
    rows = []
    for item in items:
        text = item.get("proposal")
        if text is None:
            text = f"failed after {item.get('attempts')} attempts: {item.get('error')}"
        rows.append([item.get("index", 0) + 1, item.get("angle", ""), text])
    synthesis = result.get("synthesis")
    if synthesis and synthesis.get("groups"):
        # The ranked ideas first, each in a line (the whole text is in the table below), ORCHs
        # numbered as in that table.
        screen.line(header)
        ideas = [
            [
                group["rank"],
                ", ".join(str(i + 1) for i in group["orchs"]),
                _shorten(group["representative"], IDEA_WIDTH),
            ]
            for group in synthesis["groups"]
        ]
        screen.table(_ideas_header(synthesis), ["rank", "ORCHs", "idea"], ideas)
        screen.table(f"Every proposal ({len(items)}):", ["#", "angle", "proposal"], rows)
    else:
        screen.table(header, ["#", "angle", "proposal"], rows)
    usage = result.get("usage")
    if usage:
        screen.line(_usage_line(usage))


def _ideas_header(synthesis: Result) -> str:
    count = len(synthesis["groups"])
    ideas = f"{count} idea{'s' if count != 1 else ''}"
    if synthesis.get("ranked_by") == "judge":
        return f"{ideas}, ranked by the LLM judge:"
    if synthesis.get("judge_error"):
        return f"{ideas}, by size (the judge failed: {_shorten(synthesis['judge_error'], 100)}):"
    return f"{ideas}, by size:" if count > 1 else f"{ideas}:"


def _tokens(usage: Result) -> str:
    cost = usage.get("cost_usd")
    price = "cost unknown" if cost is None else f"${cost:.6f}"
    return f"{usage.get('prompt_tokens', 0):,} in, {usage.get('completion_tokens', 0):,} out, {price}"


def _usage_line(usage: Result) -> str:
    """The run's tokens and cost, and the judge's share when it was asked."""
    if not usage.get("prompt_tokens") and not usage.get("completion_tokens"):
        return "Tokens: none reported by the model, cost unknown"  # e.g. the embedded model
    judge = usage.get("judge") or {}
    share = f" (judge: {_tokens(judge)})" if judge.get("prompt_tokens") else ""
    return f"Tokens: {_tokens(usage)}{share}"


# --- memory -----------------------------------------------------------------------------------------


def _memory_store(result: Result, screen: Screen) -> None:
    screen.line(f"Stored {result['key']!r}.")


def _memory_get(result: Result, screen: Screen) -> None:
    # The value alone, so that `$(phoenix memory get KEY)` is the value.
    screen.line(str(result["value"]))


def _memory_delete(result: Result, screen: Screen) -> None:
    screen.line(f"Deleted {result['key']!r} (it held: {_shorten(str(result['value']))}).")


def _memory_search(result: Result, screen: Screen) -> None:
    items = result.get("items") or []
    query = result.get("query")
    matching = f" matching {query!r}" if query else ""
    if not items:
        screen.line(
            f"No memories{matching}. Store one with `phoenix memory store KEY VALUE`;"
            " conversation turns are searched with `phoenix memory search episode/`."
        )
        return
    noun = "memory" if len(items) == 1 else "memories"
    rows = [[item["key"], _shorten(str(item["value"]), 200)] for item in items]
    screen.table(f"Showing {len(items)} {noun}{matching}", ["key", "value"], rows)


# --- the ecosystem ----------------------------------------------------------------------------------


def _service_text(record: Result) -> str:
    status = str(record.get("service_status") or "Stopped")
    details = []
    if status == "Running":
        details += [f"{label} {record[label]}" for label in ("pid", "port") if record.get(label)]
    elif record.get("exit_code") is not None:
        details.append(f"exit code {record['exit_code']}")
    return f"{status} ({', '.join(details)})" if details else status


def _build_text(record: Result) -> str:
    status = str(record.get("build_status") or "NotBuilt")
    if record.get("build_error"):
        status += f": {record['build_error']}"
    if record.get("last_built"):
        status += f" (last built {record['last_built']})"
    return status


def _record(record: Result, screen: Screen, sentence: str | None = None) -> None:
    source = str(record.get("url") or "")
    where = ", ".join(
        part
        for part in (
            f"branch {record['branch']}" if record.get("branch") else "",
            f"commit {str(record['commit'])[:12]}" if record.get("commit") else "",
        )
        if part
    )
    systems = record.get("build_systems") or []
    if sentence:
        screen.line(sentence)
    screen.fields(
        f"{record.get('name')} ({record.get('id')})",
        [
            ("Source", f"{source} ({where})" if where else source),
            ("Folder", record.get("local_path")),
            ("Build system", ", ".join(systems) if systems else record.get("build_system") or "none"),
            ("Build", _build_text(record)),
            ("Service", _service_text(record)),
            ("Start command", " ".join(record.get("start_command") or [])),
            ("Commands", ", ".join(sorted(record.get("commands") or {})) or "none discovered"),
        ],
    )


def _ecosystem_import(record: Result, screen: Screen) -> None:
    _record(record, screen, "Imported:")
    if record.get("build_status") in ("NotBuilt", None):
        screen.line(f"\nNext: `phoenix ecosystem build {record.get('id')}`.")


def _ecosystem_show(record: Result, screen: Screen) -> None:
    _record(record, screen)


def _ecosystem_build(record: Result, screen: Screen) -> None:
    ok = record.get("build_status") == "Built"
    _record(record, screen, "Built:" if ok else None)


def _ecosystem_start(record: Result, screen: Screen) -> None:
    _record(record, screen, "Started:")
    screen.line(f"\nIts output: `phoenix ecosystem logs {record.get('id')}`.")


def _ecosystem_stop(record: Result, screen: Screen) -> None:
    _record(record, screen, "Stopped:")


def _ecosystem_list(result: Result, screen: Screen) -> None:
    items = result.get("items") or []
    if not items:
        screen.line("No repositories imported yet. Try `phoenix ecosystem import URL`.")
        return
    noun = "repository" if len(items) == 1 else "repositories"
    rows = [
        [
            item.get("id"),
            item.get("name"),
            item.get("build_system") or "none",
            item.get("build_status"),
            _service_text(item),
            item.get("url"),
        ]
        for item in items
    ]
    columns = ["id", "name", "build system", "build", "service", "source"]
    screen.table(f"Showing {len(items)} {noun}", columns, rows)


def _ecosystem_logs(result: Result, screen: Screen) -> None:
    log = str(result.get("log") or "")
    if log.strip():
        screen.line(log.rstrip("\n"))
    else:
        screen.line(
            f"The service of {result.get('id')} has written nothing yet"
            f" (it is {result.get('service_status', 'Stopped')})."
        )


def _ecosystem_remove(result: Result, screen: Screen) -> None:
    screen.line(
        f"Removed {result.get('name')} ({result.get('id')}): its service is stopped and its"
        " clone and record are deleted."
    )


def _ecosystem_env(result: Result, screen: Screen) -> None:
    names = list(result.get("variables") or [])
    repo = result.get("id")
    if not names:
        screen.line(
            f"No variables set for {repo}. Set one with `phoenix ecosystem env {repo} KEY=VALUE`."
        )
        return
    noun = "variable" if len(names) == 1 else "variables"
    screen.table(
        f"Showing {len(names)} {noun} set for {repo} (values are not shown)",
        ["name"],
        [[name] for name in names],
    )


def _ecosystem_run(result: Result, screen: Screen) -> None:
    """The command's own output as it wrote it: stdout on stdout, stderr on stderr."""
    stdout = str(result.get("stdout") or "")
    if stdout:
        screen.out.write(stdout if stdout.endswith("\n") else stdout + "\n")
    stderr = str(result.get("stderr") or "")
    failed = result.get("type") == "error" or result.get("exit_code") not in (0, None)
    if stderr.strip():
        screen.note(_tail(stderr) if failed else stderr.rstrip("\n"))
    duration = result.get("duration_s")
    took = f" in {duration:.1f} s" if isinstance(duration, int | float) else ""
    ended = "timed out" if result.get("timed_out") else f"exited with {result.get('exit_code')}"
    if not failed:
        screen.note(f"{result.get('command')} {ended}{took}")
    elif result.get("type") != "error":
        screen.note(f"error: {result.get('command')} {ended}{took}")


# --- the local servers and the API --------------------------------------------------------------------


def _server_status(result: Result, screen: Screen) -> None:
    service = result.get("service_url") or "not running"
    if result.get("service_pid"):
        service += f" (pid {result['service_pid']})"
    screen.fields(
        None,
        [
            ("Phoenix service", service),
            ("Prefect API", result.get("prefect_api_url") or "not running"),
            ("Prefect UI", result.get("prefect_ui_url")),
        ],
    )


def _server_stop(result: Result, screen: Screen) -> None:
    names = {"service_stopped": "the local Phoenix service", "prefect_stopped": "the Prefect server"}
    stopped = [name for key, name in names.items() if result.get(key)]
    screen.line(f"Stopped {' and '.join(stopped)}." if stopped else "Nothing was running.")


# --- runs that were not waited for --------------------------------------------------------------------

RESULT_KINDS = {"propose-improvements": "propose", "import-and-build-repo": "ecosystem.import"}
"""How a finished run's result is shown, by its flow; any other flow's result by its shape."""


def _follow(result: Result) -> str:
    ui = f"; in the Prefect UI: {result['ui_url']}" if result.get("ui_url") else ""
    return f"Follow it with `phoenix runs show {result.get('run_id')} --wait`{ui}."


def _run_submitted(result: Result, screen: Screen) -> None:
    screen.line(f"Started the {result.get('flow')} run {result.get('name')} ({result.get('run_id')}).")
    screen.line(_follow(result))


def _run_show(result: Result, screen: Screen) -> None:
    """A run's own result once it completed (with that result's rendering); else where it is."""
    what = f"The {result.get('flow')} run {result.get('name')} ({result.get('run_id')})"
    if not result.get("finished"):
        screen.line(f"{what} is {result.get('state')}.")
        screen.line(_follow(result))
        return
    if "result" in result and isinstance(result["result"], dict):
        show(RESULT_KINDS.get(str(result.get("flow")), "command"), result["result"], screen)
        return
    if result.get("error") is not None:
        screen.note(f"error: {what} ended {result.get('state')}: {result['error']}")
        return
    value = f": {_shorten(str(result['result']), 200)}" if "result" in result else ""
    screen.line(f"{what} ended {result.get('state')}{value}.")


def _api(result: Result, screen: Screen) -> None:
    screen.line("The API server stopped.")


def _serve(result: Result, screen: Screen) -> None:
    served = result.get("deployments") or []
    screen.line(
        f"Stopped serving {len(served)} deployments; their schedules are paused until the next"
        " `phoenix serve`."
    )


def _restart_policy(result: Result, screen: Screen) -> None:
    policy, limit = result.get("restart_policy") or "never", result.get("restart_limit")
    name = f"{result.get('name')} ({result.get('id')})"
    if policy == "never":
        screen.line(f"{name} is never restarted automatically.")
        return
    cap = f"at most {limit} times" if limit else "with no limit"
    screen.line(
        f"{name} is restarted when it fails, {cap} until started by hand"
        f" ({result.get('restart_count') or 0} so far); `phoenix serve` with PHOENIX_HEALTH_EVERY"
        " checks it, or `phoenix ecosystem health` once."
    )


def _health(result: Result, screen: Screen) -> None:
    items = result.get("items") or []
    if not items:
        screen.line("No service has been started yet. Try `phoenix ecosystem start ID`.")
        return
    rows = [
        [item.get("id"), item.get("name"), item.get("status"), item.get("exit_code"),
         "yes" if item.get("restarted") else "no", item.get("reason")]
        for item in items
    ]  # fmt: skip
    restarted = len(result.get("restarted") or [])
    noun = "service" if len(items) == 1 else "services"
    screen.table(
        f"Checked {len(items)} {noun}: {result.get('running')} running, {restarted} restarted",
        ["id", "name", "status", "exit code", "restarted", "why"],
        rows,
    )


def _generic(result: Result, screen: Screen) -> None:
    """Any other record: its scalar fields, labelled (never a JSON dump)."""
    if "message" in result and len(result) <= 3:
        screen.line(str(result["message"]))
        return
    screen.fields(
        None,
        [
            (str(name).replace("_", " ").capitalize(), _summary(value))
            for name, value in result.items()
            if name not in ERROR_KEYS
        ],
    )


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        return f"{len(value)} entries"
    if isinstance(value, list):
        if all(isinstance(item, str | int | float) for item in value):
            return ", ".join(str(item) for item in value)
        return f"{len(value)} items"
    return _shorten(str(value), 200)


def _shorten(text: str, limit: int = 80) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


RENDERERS: dict[str, Callable[[Result, Screen], None]] = {
    "help": _message,
    "speak": _message,
    "status": _status,
    "propose": _propose,
    "memory.store": _memory_store,
    "memory.get": _memory_get,
    "memory.delete": _memory_delete,
    "memory.search": _memory_search,
    "ecosystem.import": _ecosystem_import,
    "ecosystem.list": _ecosystem_list,
    "ecosystem.show": _ecosystem_show,
    "ecosystem.status": _ecosystem_show,
    "ecosystem.build": _ecosystem_build,
    "ecosystem.start": _ecosystem_start,
    "ecosystem.stop": _ecosystem_stop,
    "ecosystem.logs": _ecosystem_logs,
    "ecosystem.remove": _ecosystem_remove,
    "ecosystem.env": _ecosystem_env,
    "ecosystem.run": _ecosystem_run,
    "server.status": _server_status,
    "server.start": _server_status,
    "server.stop": _server_stop,
    "api": _api,
    "serve": _serve,
    "ecosystem.restart-policy": _restart_policy,
    "ecosystem.health": _health,
    "run.submitted": _run_submitted,
    "runs.show": _run_show,
    "agents.import": _ecosystem_import,
}


def _agent_renderers() -> None:
    from phoenix.human_agents import RENDERERS as AGENT_RENDERERS

    RENDERERS.update(AGENT_RENDERERS)


_agent_renderers()


def _system_renderers() -> None:
    from phoenix.system.human import RENDERERS as SYSTEM_RENDERERS

    RENDERERS.update(SYSTEM_RENDERERS)


_system_renderers()


def _tool_renderers() -> None:
    from phoenix.human_tools import RENDERERS as TOOL_RENDERERS

    RENDERERS.update(TOOL_RENDERERS)


_tool_renderers()


def _vector_memory_renderers() -> None:
    from phoenix.human_memory import RENDERERS as VECTOR_RENDERERS

    RENDERERS.update(VECTOR_RENDERERS)


_vector_memory_renderers()
