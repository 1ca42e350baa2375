"""Prefect blocks: Phoenix's configuration as forms in the Prefect UI.

Blocks hold configuration and clients, never workflow logic.  The environment always wins over a
block (docs/design.md, "Environment"), so a deployment can be configured in the UI and overridden
on one machine.
"""

from blocks.llm import LLMSettings, resolve_settings

__all__ = ["LLMSettings", "resolve_settings"]
