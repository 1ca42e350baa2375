"""Phoenix's exceptions, and the one place that maps them to exit codes and HTTP statuses.

Each domain raises a subclass of `PhoenixError`; the CLI and the HTTP API translate with
`exit_code_for` and `http_status_for`, so a new error never needs a change in two places.
"""

from __future__ import annotations


class PhoenixError(Exception):
    """Base of every error Phoenix reports to a person."""

    code = "failed"
    http_status = 500
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(PhoenixError):
    """The request is malformed: wrong grammar, missing or out-of-range argument."""

    code = "usage_error"
    http_status = 400
    exit_code = 2


class BadInput(PhoenixError):
    """The request is well-formed but a value is unusable (a blank key, say)."""

    code = "bad_input"
    http_status = 400
    exit_code = 2


class NotFound(PhoenixError):
    """The thing asked for does not exist."""

    code = "not_found"
    http_status = 404
    exit_code = 1


class Conflict(PhoenixError):
    """The request conflicts with the current state (already running, say)."""

    code = "conflict"
    http_status = 409
    exit_code = 1


class NotAvailable(PhoenixError):
    """A capability that this version of Phoenix does not provide yet."""

    code = "not_available"
    http_status = 501
    exit_code = 1


class OperationFailed(PhoenixError):
    """The operation ran and failed (an LLM that did not answer, say)."""


class BuildFailed(OperationFailed):
    """A repository's build ran and failed; its record (status, reason, log tail) is kept."""

    code = "build_failed"
    http_status = 502


class CommandFailed(OperationFailed):
    """A repository's command ran and exited non-zero; its output is kept in the result."""

    code = "command_failed"
    http_status = 502


class SpawnAborted(OperationFailed):
    """A spawned agent's code still failed its tests after its repairs: nothing was published."""

    code = "spawn_aborted"
    http_status = 502


def _error_classes(root: type[PhoenixError] = PhoenixError) -> dict[str, type[PhoenixError]]:
    """Every error class by its code, subclasses defined in other modules included."""
    classes = {root.code: root}
    for subclass in root.__subclasses__():
        for code, cls in _error_classes(subclass).items():
            classes.setdefault(code, cls)
    return classes


def error_class_for(code: str) -> type[PhoenixError]:
    """The error class of an envelope's error code (PhoenixError for a code it does not know)."""
    return _error_classes().get(code, PhoenixError)


def exit_code_for(code: str) -> int:
    """The CLI exit status for an error code of an envelope."""
    return error_class_for(code).exit_code


def http_status_for(code: str) -> int:
    """The HTTP status for an error code of an envelope."""
    return error_class_for(code).http_status


class SystemCommandsDisabled(PhoenixError):
    """`system exec|read-file|write-file` asked for while PHOENIX_SYSTEM_COMMANDS is off.

    403, not 409: nothing about the current state would change the answer; the operator has to
    turn the feature on (a refusal by configuration, like a missing permission).
    """

    code = "system_commands_disabled"
    http_status = 403
    exit_code = 1


class OutsideWorkspace(BadInput):
    """A system command's path resolves outside the workspace (`..`, another absolute path, a
    symbolic link pointing out)."""

    code = "outside_workspace"


class TooLarge(PhoenixError):
    """Content to write, or a file to read, is bigger than its configured cap."""

    code = "too_large"
    http_status = 413
    exit_code = 1
