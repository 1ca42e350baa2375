"""Tiers and visibility of a spawned agent, as the original system decided them.

The tier is the one asked for (`--tier`), else read from the description's words: enterprise or
premium → Enterprise, paid or monetize → Paid, anything else Free.  Free agents are public
repositories; Paid and Enterprise ones are private.
"""

from __future__ import annotations

import re
from enum import StrEnum

from phoenix.errors import BadInput


class Tier(StrEnum):
    FREE = "Free"
    PAID = "Paid"
    ENTERPRISE = "Enterprise"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


# Word starts, so "Premium", "monetization" and "monetise" count and "unpaid" does not.
_ENTERPRISE = re.compile(r"\b(enterprise|premium)", re.IGNORECASE)
_PAID = re.compile(r"\b(paid|moneti[sz])", re.IGNORECASE)


def parse_tier(text: str) -> Tier:
    """`free`, `paid` or `enterprise` in any case; anything else is BadInput naming the choices."""
    for tier in Tier:
        if text.strip().lower() == tier.value.lower():
            return tier
    choices = ", ".join(tier.value.lower() for tier in Tier)
    raise BadInput(f"{text!r} is not a tier: choose one of {choices}")


def tier_for(description: str, explicit: str | Tier | None = None) -> Tier:
    """The agent's tier: `explicit` when given, else the one the description's words name."""
    if explicit is not None and explicit != "":
        return explicit if isinstance(explicit, Tier) else parse_tier(explicit)
    if _ENTERPRISE.search(description):
        return Tier.ENTERPRISE
    if _PAID.search(description):
        return Tier.PAID
    return Tier.FREE


def visibility_for(tier: Tier) -> Visibility:
    """Free agents are public; paid and enterprise agents are private."""
    return Visibility.PUBLIC if tier is Tier.FREE else Visibility.PRIVATE
