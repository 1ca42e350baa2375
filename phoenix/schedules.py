"""The schedules `phoenix serve` gives its deployments: none unless configured.

Two are worth having on a machine that runs services and an LLM, and both are off by default —
a schedule that nobody asked for spends a user's LLM budget or restarts their processes:

- `PHOENIX_HEALTH_EVERY=SECONDS`: the `service-health` flow every SECONDS (at least 10), served as
  `service-health/phoenix-health-check`; it reconciles every service with the OS and restarts the
  ended ones whose restart policy says so.
- `PHOENIX_PROPOSE_CRON="0 6 * * 1"` with `PHOENIX_PROPOSE_SEED=TEXT` (and `PHOENIX_PROPOSE_N`,
  default 5): propose-improvements on that seed, served as `propose-improvements/phoenix-scheduled`;
  `PHOENIX_PROPOSE_TIMEZONE` (default UTC) is the cron's time zone.

They appear in the Prefect UI as the schedules of those deployments, where they can be paused.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field, model_validator

from phoenix.settings import MAX_ORCHS, validate_environment

HEALTH_DEPLOYMENT = "phoenix-health-check"
PROPOSE_DEPLOYMENT = "phoenix-scheduled"

_VARIABLES = {
    "PHOENIX_HEALTH_EVERY": "health_every",
    "PHOENIX_PROPOSE_CRON": "propose_cron",
    "PHOENIX_PROPOSE_SEED": "propose_seed",
    "PHOENIX_PROPOSE_N": "propose_n",
    "PHOENIX_PROPOSE_TIMEZONE": "propose_timezone",
}
"""Environment variable → field."""


class ScheduleSettings(BaseModel):
    """What runs on its own, and when; every field unset means nothing does."""

    health_every: float | None = Field(default=None, ge=10, description="Seconds between checks.")
    propose_cron: str | None = Field(default=None, description="When to propose (cron).")
    propose_seed: str | None = Field(default=None, min_length=1, description="What to improve.")
    propose_n: int = Field(default=5, ge=1, le=MAX_ORCHS, description="ORCHs per scheduled run.")
    propose_timezone: str = Field(default="UTC", description="The cron's time zone.")

    @model_validator(mode="after")
    def _seed_with_cron(self) -> ScheduleSettings:
        if self.propose_cron and not self.propose_seed:
            raise ValueError("PHOENIX_PROPOSE_CRON needs PHOENIX_PROPOSE_SEED: what to improve")
        if self.propose_cron and len(self.propose_cron.split()) not in (5, 6):
            raise ValueError(f"PHOENIX_PROPOSE_CRON is not a cron line: {self.propose_cron!r}")
        return self


def load_schedule_settings(environ: Mapping[str, str]) -> ScheduleSettings:
    """The schedules configured in `environ`; a blank variable counts as unset."""
    return validate_environment(ScheduleSettings, _VARIABLES, environ)
