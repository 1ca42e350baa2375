"""A person's arguments to a discovered command: data for the command, never options of the tool.

`phoenix ecosystem run ID check --eval='$(shell …)'` must not become `make check --eval=…`, which
make would run.  So `command_argv` puts the arguments where the tool hands them on as data, and
refuses those it cannot place safely (BadInput):

    npm run X -- ARGS, cargo run --bin X -- ARGS   the argv already ends with the separator
    cargo test|bench -- ARGS                        to the test harness (filters, --nocapture)
    go test PKGS -args ARGS                         to the test binary
    go run PKG ARGS, docker run … IMAGE ARGS,       the tool stops reading options at the program,
    yarn|pnpm run X ARGS, python SCRIPT|-m MOD ARGS   package or script: what follows is its own
    make TARGET -- GOALS                            only more goals: after `--` a `-x` is a goal
                                                    name (no rule to make it), but `NAME=VALUE`
                                                    would still assign a make variable, whose value
                                                    make splices into the recipe's shell command —
                                                    code, not data — so it is refused; set variables
                                                    for the repository instead (ecosystem env)
    any other build tool (mvn, gradle, pip, …)      no separator: an argument starting with `-`
                                                    is refused
    the repository's own programs (a Procfile's     the arguments follow the program, as data
    `./server`, a console script, `node app.js`)
"""

from __future__ import annotations

from pathlib import Path

from phoenix.errors import BadInput

# Programs that are build tools: an argument appended to one of them may be taken as its option.
BUILD_TOOLS = frozenset(
    {"make", "gmake", "cargo", "npm", "npx", "yarn", "pnpm", "go", "mvn", "mvnw", "gradle", "gradlew",
     "docker", "pip", "pip3", "poetry", "uv", "bundle", "rake"}
)  # fmt: skip
PYTHONS = frozenset({"python", "python3"})


def _program(argv: list[str]) -> str:
    return Path(argv[0]).name if argv else ""


def _no_options(argv: list[str], args: list[str]) -> list[str]:
    """`argv + args` for a tool without a separator: refuse what it would read as an option."""
    for arg in args:
        if arg.startswith("-"):
            raise BadInput(
                f"{arg!r} would be read by {_program(argv)} as one of its own options; "
                f"`{' '.join(argv)}` takes no options from its caller"
            )
    return [*argv, *args]


def _make_goals(argv: list[str], args: list[str]) -> list[str]:
    for arg in args:
        if "=" in arg:
            raise BadInput(
                f"{arg!r} would set a make variable, whose value make runs as part of a shell "
                "command; set it for the repository instead: phoenix ecosystem env ID NAME=VALUE"
            )
    return [*argv, "--", *args]


def _hands_on(argv: list[str]) -> bool:
    """Whether the tool itself passes every argument after argv to the program it runs."""
    program, verb = _program(argv), argv[1:2]
    if program in PYTHONS:
        # `python -m module` or `python script.py`: python's own options come before these.
        return len(argv) >= 2 and (argv[1:2] != ["-m"] or argv[2:3] not in (["pip"], ["venv"]))
    if program == "go":
        return verb == ["run"] and len(argv) >= 3
    if program in ("yarn", "pnpm"):
        return verb == ["run"] and len(argv) >= 3  # both forward everything after the script name
    if program == "docker":
        return verb == ["run"]
    return program not in BUILD_TOOLS


def command_argv(argv: list[str], args: list[str]) -> list[str]:
    """The argv that runs discovered command `argv` with a person's `args` as its data."""
    if not args:
        return list(argv)
    program, verb = _program(argv), argv[1:2]
    if argv[-1] == "--":
        return [*argv, *args]
    if program in ("make", "gmake"):
        return _make_goals(argv, args)
    if program == "cargo" and verb in (["test"], ["bench"]):
        return [*argv, "--", *args]
    if program == "go" and verb == ["test"]:
        return [*argv, "-args", *args]
    if _hands_on(argv):
        return [*argv, *args]
    return _no_options(argv, args)
