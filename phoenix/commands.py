"""The router's text grammar, parsed into typed commands.

The grammar comes from the original system and is a public contract (docs/design.md, "Router
grammar").  Prefixes match case-insensitively with their trailing space; arguments keep their case.
Parsing is pure — it touches nothing — so the router flow only decides which capability runs, and
every usage error is found before anything starts.  `CAPABILITIES` is the one table of what the
router offers and what is not there yet; `help`, `status` and "not available yet" derive from it.
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from phoenix import __version__
from phoenix.errors import NotAvailable, UsageError
from phoenix.settings import MAX_ORCHS

DEFAULT_PROPOSALS = 5

ECOSYSTEM_USAGE = "Usage: ecosystem {repo_id} {command} [args...]"
SPAWN_USAGE = "Usage: spawn agent {name}:{description}  or  spawn agent {description}"
MEMORY_USAGE = (
    "Usage: memory store {key} {value} | memory get {key} | memory search {query} [--limit N]"
    " | memory delete {key} | memory vector-store {text} | memory vector-search {query}"
    " [--limit K] | memory vector-all [--limit N]"
)
SYSTEM_USAGE = (
    "Usage: system status | system exec {program} [args...] | system read-file {path}"
    " | system write-file {path} {content}"
)
COLLABORATE_USAGE = "Usage: collaborate {task}"
PROPOSE_USAGE = f"Usage: propose [N] improvements for {{topic}}   (N from 1 to {MAX_ORCHS})"


class Capability(BaseModel):
    """One capability of the router: its commands, and whether this version provides it."""

    name: str
    title: str = Field(description="What it does, as the subject of a sentence.")
    available: bool
    commands: list[tuple[str, str]] = Field(description="(syntax, what it does) for `help`.")


# The one table of what the router offers: `help`, `status` and the router's "not available yet"
# answers are all derived from it, so a capability that lands changes one line here.
CAPABILITIES = [
    Capability(
        name="propose",
        title="Proposing improvements",
        available=True,
        commands=[("propose [N] improvements for {topic}", "N sub-agents each propose one improvement")],
    ),
    Capability(
        name="memory",
        title="Key-value memory",
        available=True,
        commands=[
            ("memory store {key} {value}", "remember a value"),
            ("memory get {key}", "recall it"),
            ("memory search {query} [--limit N]", "keys starting with, or values containing, query"),
            ("memory delete {key}", "forget it"),
        ],
    ),
    Capability(
        name="vector-memory",
        title="Vector (semantic) memory",
        available=True,
        commands=[
            ("memory vector-store {text}", "remember a text by its meaning"),
            ("memory vector-search {query} [--limit K]", "the K texts closest in meaning (5)"),
            ("memory vector-all [--limit N]", "the newest texts remembered by meaning"),
        ],
    ),
    Capability(
        name="ecosystem",
        title="The ecosystem of imported repositories",
        available=True,
        commands=[("ecosystem {repo_id} {command} [args]", "run a command of an imported repository")],
    ),
    Capability(
        name="spawn",
        title="Spawning agents",
        available=True,
        commands=[("spawn agent {name}:{description}", "have the LLM write, test and publish an agent")],
    ),
    Capability(
        name="collaborate",
        title="Collaboration between agents",
        available=True,
        commands=[("collaborate {task}", "the queen splits it among the tool agents, merges answers")],
    ),
    Capability(
        name="system",
        title="Running system commands",
        available=True,
        commands=[
            ("system status", "host, OS, CPUs, load, memory, disk, uptime"),
            ("system exec {program} [args]", "run it in the workspace, no shell (when enabled)"),
            ("system read-file {path}", "a text file of the workspace (when enabled)"),
            ("system write-file {path} {text}", "write it whole (when enabled)"),
        ],
    ),
    Capability(
        name="status",
        title="Status",
        available=True,
        commands=[("status", "what Phoenix holds and runs")],
    ),
    Capability(name="help", title="Help", available=True, commands=[("help", "this text")]),
    Capability(
        name="speak",
        title="Conversation with the LLM",
        available=True,
        commands=[("anything else", "a conversation with the LLM")],
    ),
]
NOT_AVAILABLE_MARK = "(not available yet)"


def capability(name: str) -> Capability:
    return next(entry for entry in CAPABILITIES if entry.name == name)


def capabilities() -> dict[str, bool]:
    """Each capability of the router, and whether this version provides it (for `status`)."""
    return {entry.name: entry.available for entry in CAPABILITIES}


def not_available(name: str) -> NotAvailable:
    """The error of a capability this version does not provide yet."""
    return NotAvailable(f"{capability(name).title} is not available yet in Phoenix {__version__}.")


def _help_text() -> str:
    width = max(len(syntax) for entry in CAPABILITIES for syntax, _ in entry.commands) + 3
    lines = ["Phoenix commands:"]
    for entry in CAPABILITIES:
        mark = "" if entry.available else f" {NOT_AVAILABLE_MARK}"
        lines += [f"  {syntax:<{width}}{text}{mark}" for syntax, text in entry.commands]
    return "\n".join(lines)


HELP_TEXT = _help_text()


class HelpCommand(BaseModel):
    kind: Literal["help"] = "help"


class StatusCommand(BaseModel):
    kind: Literal["status"] = "status"


class ProposeCommand(BaseModel):
    kind: Literal["propose"] = "propose"
    n: int
    topic: str


class MemoryCommand(BaseModel):
    kind: Literal["memory"] = "memory"
    action: Literal["store", "get", "search", "delete", "vector-store", "vector-search", "vector-all"]
    key: str | None = None
    value: str | None = None
    query: str | None = None
    limit: int | None = None


class EcosystemCommand(BaseModel):
    kind: Literal["ecosystem"] = "ecosystem"
    repo_id: str
    command: str
    args: list[str] = Field(default_factory=list)


class SpawnCommand(BaseModel):
    kind: Literal["spawn"] = "spawn"
    name: str | None
    description: str


class SystemCommand(BaseModel):
    kind: Literal["system"] = "system"
    action: Literal["status", "exec", "read-file", "write-file"]
    argv: list[str] | None = None
    path: str | None = None
    content: str | None = None


class CollaborateCommand(BaseModel):
    kind: Literal["collaborate"] = "collaborate"
    task: str


class SpeakCommand(BaseModel):
    kind: Literal["speak"] = "speak"
    text: str


Command = Annotated[
    HelpCommand
    | StatusCommand
    | ProposeCommand
    | MemoryCommand
    | EcosystemCommand
    | SpawnCommand
    | SystemCommand
    | CollaborateCommand
    | SpeakCommand,
    Field(discriminator="kind"),
]

_PROPOSE = re.compile(r"propose\s+(?:(?P<n>\S+)\s+)?improvements?\s+for\s+(?P<topic>.+)", re.I | re.S)
SPAWN_NAME_MAX_WORDS = 6  # as phoenix.agents.naming reads `spawn agent NAME: DESCRIPTION`


def _strip_prefix(text: str, prefix: str) -> str | None:
    """The rest of `text` after `prefix` and its trailing space, or None if it does not start so."""
    if text.lower().startswith(prefix + " "):
        return text[len(prefix) + 1 :].strip()
    return None


def parse_command(text: str) -> Command:
    """Parse one command line of the router grammar; raises `UsageError` with the usage line."""
    line = (text or "").strip()
    if not line:
        raise UsageError("Empty command. Type 'help' for the commands.")
    lowered = line.lower()
    if lowered == "help":
        return HelpCommand()
    if lowered == "status":
        return StatusCommand()
    if lowered == "ecosystem" or (rest := _strip_prefix(line, "ecosystem")) is not None:
        return _parse_ecosystem(line)
    if lowered in ("spawn agent", "spawn") or (rest := _strip_prefix(line, "spawn agent")) is not None:
        return _parse_spawn(rest if lowered not in ("spawn agent", "spawn") else "")
    if lowered == "memory" or (rest := _strip_prefix(line, "memory")) is not None:
        return _parse_memory(rest if lowered != "memory" else "")
    if lowered == "system" or (rest := _strip_prefix(line, "system")) is not None:
        return _parse_system(rest if lowered != "system" else "")
    if lowered == "propose" or lowered.startswith("propose "):
        return _parse_propose(line)
    if lowered == "collaborate" or (rest := _strip_prefix(line, "collaborate")) is not None:
        if lowered == "collaborate" or not rest:
            raise UsageError(COLLABORATE_USAGE)
        return CollaborateCommand(task=rest)
    return SpeakCommand(text=line)


def _parse_system(rest: str) -> SystemCommand:
    """`status`, `exec ARGV` (split like a POSIX shell would, but never run by one),
    `read-file PATH`, `write-file PATH CONTENT` (the content verbatim after the path)."""
    action, _, arguments = rest.partition(" ")
    action = action.lower()
    if action == "status" and not arguments.strip():
        return SystemCommand(action="status")
    if action == "exec":
        try:
            argv = shlex.split(arguments)
        except ValueError as error:
            raise UsageError(f"{error}. Usage: system exec {{program}} [args...]") from None
        if not argv:
            raise UsageError("Usage: system exec {program} [args...]")
        return SystemCommand(action="exec", argv=argv)
    if action in ("read-file", "write-file"):
        lexer = shlex.shlex(arguments.lstrip(), posix=True)
        lexer.whitespace_split = True
        try:
            path = lexer.get_token()
            content = lexer.instream.read()
        except ValueError as error:
            raise UsageError(f"{error}. {SYSTEM_USAGE}") from None
        if action == "read-file":
            if not path or content.strip():
                raise UsageError("Usage: system read-file {path}")
            return SystemCommand(action="read-file", path=path)
        if not path or not content:
            raise UsageError("Usage: system write-file {path} {content}")
        return SystemCommand(action="write-file", path=path, content=content)
    raise UsageError(SYSTEM_USAGE)


def _parse_ecosystem(line: str) -> EcosystemCommand:
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    if len(words) < 3:
        raise UsageError(ECOSYSTEM_USAGE)
    _refuse_variable_values(words)
    return EcosystemCommand(repo_id=words[1], command=words[2], args=words[3:])


def _refuse_variable_values(words: list[str]) -> None:
    """`ecosystem ID env KEY=VALUE` must not come through the router: its text is a run parameter."""
    if len(words) > 3 and words[2].lower() == "env" and any("=" in w.strip("=") for w in words[3:]):
        raise UsageError(
            "Set a repository's variables with `phoenix ecosystem env ID KEY=VALUE`: through the"
            " router the value would be stored in the run's parameters"
        )


def check_router_text(text: str) -> None:
    """Refuse, before any flow run records it, router text that would put a secret in a parameter.

    Every other mistake is left to the router, which answers it with an error envelope.
    """
    line = (text or "").strip()
    if line.lower().startswith("ecosystem "):
        _refuse_variable_values(line.split())


def _parse_spawn(rest: str) -> SpawnCommand:
    """`NAME: DESCRIPTION` when the text before the first `:` is short enough to be a name (the
    spawn flow makes it a valid repository name, or says why it cannot); else all description."""
    if not rest:
        raise UsageError(SPAWN_USAGE)
    name, colon, description = rest.partition(":")
    if colon and name.strip() and len(name.split()) <= SPAWN_NAME_MAX_WORDS:
        if not description.strip():
            raise UsageError(SPAWN_USAGE)
        return SpawnCommand(name=name.strip(), description=description.strip())
    return SpawnCommand(name=None, description=rest)


def _parse_propose(line: str) -> ProposeCommand:
    match = _PROPOSE.fullmatch(line)
    if match is None or not match.group("topic").strip():
        raise UsageError(PROPOSE_USAGE)
    raw_n = match.group("n")
    if raw_n is None:
        n = DEFAULT_PROPOSALS
    else:
        try:
            n = int(raw_n)
        except ValueError:
            raise UsageError(f"{raw_n!r} is not a number. {PROPOSE_USAGE}") from None
    check_proposal_count(n)
    return ProposeCommand(n=n, topic=match.group("topic").strip())


def check_proposal_count(n: int) -> int:
    if not 1 <= n <= MAX_ORCHS:
        raise UsageError(f"N must be between 1 and {MAX_ORCHS}, not {n}. {PROPOSE_USAGE}")
    return n


def _parse_memory(rest: str) -> MemoryCommand:
    action, _, arguments = rest.partition(" ")
    action = action.lower()
    arguments = arguments.strip()
    if action == "store":
        key, _, value = arguments.partition(" ")
        if not key or not value.strip():
            raise UsageError("Usage: memory store {key} {value}")
        return MemoryCommand(action="store", key=key, value=value.strip())
    if action in ("get", "delete"):
        if not arguments:
            raise UsageError(f"Usage: memory {action} {{key}}")
        return MemoryCommand(action=action, key=arguments)
    if action in ("search", "vector-search"):
        query, limit = _split_limit(arguments, action)
        return MemoryCommand(action=action, query=query, limit=limit)
    if action == "vector-store":
        if not arguments:
            raise UsageError("Usage: memory vector-store {text}")
        return MemoryCommand(action="vector-store", value=arguments)
    if action == "vector-all":
        return MemoryCommand(action="vector-all", limit=_limit_only(arguments))
    raise UsageError(MEMORY_USAGE)


def _limit_only(arguments: str) -> int | None:
    """`vector-all`'s optional `--limit N`, and nothing else."""
    usage = "Usage: memory vector-all [--limit N]"
    if not arguments:
        return None
    flag, _, raw_limit = arguments.partition(" ")
    if flag != "--limit":
        raise UsageError(usage)
    try:
        return int(raw_limit.strip())
    except ValueError:
        raise UsageError(usage) from None


def _split_limit(arguments: str, action: str) -> tuple[str, int | None]:
    usage = f"Usage: memory {action} {{query}} [--limit N]"
    query, flag, raw_limit = arguments.partition("--limit")
    limit = None
    if flag:
        try:
            limit = int(raw_limit.strip())
        except ValueError:
            raise UsageError(usage) from None
    if not query.strip():
        raise UsageError(usage)
    return query.strip(), limit
