"""Prefect blocks: Phoenix's configuration as forms in the Prefect UI.

Blocks hold configuration and clients, never workflow logic.  The environment always wins over a
block (docs/design.md, "Environment"), so a deployment can be configured in the UI and overridden
on one machine.
"""

from blocks.github import GitHubBlock, resolve_github_settings
from blocks.llm import LLMSettings, resolve_settings
from blocks.tools import ToolsBlock, resolve_tool_settings

__all__ = [
    "GitHubBlock",
    "LLMSettings",
    "ToolsBlock",
    "resolve_github_settings",
    "resolve_settings",
    "resolve_tool_settings",
]
