"""When a supervised service that ended is started again: a restart policy, as systemd's `Restart=`.

`never` (the default) leaves an ended service ended.  `on-failure` restarts a service that ended
unclean — a non-zero exit code, or killed by a signal, or gone without leaving an exit record —
and leaves one that exited 0 alone, as systemd does.  A limit caps the automatic restarts since
the last start by hand (systemd's `StartLimitBurst`), so a service that crashes at start-up is
not restarted for ever: once the limit is reached it stays ended, and the health check says why.

Only the decision lives here; the `service-health` flow asks it about every service it finds
ended, and restarts the ones it says so.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel

from phoenix.errors import UsageError

RestartPolicyName = Literal["never", "on-failure"]
POLICIES: tuple[str, ...] = get_args(RestartPolicyName)


class RestartDecision(BaseModel):
    """Whether to start an ended service again, and why, in words the health report shows."""

    restart: bool
    reason: str


def parse_policy(arguments: list[str]) -> tuple[RestartPolicyName, int | None]:
    """`["on-failure", "3"]` → `("on-failure", 3)`: the words of `ecosystem ID restart-policy ...`."""
    if not arguments or len(arguments) > 2:
        raise UsageError(
            "restart-policy takes a policy and an optional limit: never | on-failure [LIMIT]"
        )
    policy = arguments[0].strip().lower()
    if policy not in POLICIES:
        raise UsageError(f"Unknown restart policy {arguments[0]!r}: choose never or on-failure")
    if len(arguments) == 1:
        return policy, None  # type: ignore[return-value]  # checked against POLICIES above
    if policy == "never":
        raise UsageError("A limit only applies to on-failure")
    text = arguments[1].strip()
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"The restart limit must be a whole number of at least 1, not {text!r}")
    return policy, int(text)  # type: ignore[return-value]


def decide(
    policy: str | None, limit: int | None, restarts_so_far: int, status: str, exit_code: int | None
) -> RestartDecision:
    """Whether a service found in `status` (Exited, Crashed...) with `exit_code` starts again.

    An exit code of None means the supervisor left no record (killed with it, or the machine
    restarted): that counts as a failure, as systemd counts an unclean end.
    """
    if status == "Stopped":
        return RestartDecision(restart=False, reason="stopped by hand")
    if (policy or "never") == "never":
        return RestartDecision(restart=False, reason="restart policy is never")
    clean = status == "Exited" and exit_code == 0
    if clean:
        return RestartDecision(restart=False, reason="exited cleanly (0); on-failure leaves it")
    if limit is not None and restarts_so_far >= limit:
        return RestartDecision(
            restart=False, reason=f"restart limit reached ({restarts_so_far} of {limit})"
        )
    how = f"exit code {exit_code}" if exit_code is not None else "no exit record"
    count = f"{restarts_so_far + 1}" + (f" of {limit}" if limit is not None else "")
    return RestartDecision(restart=True, reason=f"{status.lower()} ({how}); restart {count}")
