"""Path parameters that match only an id, so a resource's fixed routes are never read as ids.

`/api/ecosystem/list` and `/api/agents/spawn` sit beside `/api/ecosystem/{id}` and
`/api/agents/{id}`: with a plain `{id}`, `DELETE /api/ecosystem/list` would look up a repository
called "list" (404).  Routed as `{repo_id:repo_id}`, it matches only an id's pattern, and Starlette
answers 405 with the methods the fixed route allows.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class IdConvertor(Convertor[str]):
    """A string path parameter that matches `pattern` (anchors dropped) and nothing else."""

    def __init__(self, pattern: str) -> None:
        self.regex = pattern.strip("^$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def register_id(name: str, pattern: str) -> None:
    """Make `{parameter:name}` usable in routes, for ids matching `pattern`."""
    register_url_convertor(name, IdConvertor(pattern))
