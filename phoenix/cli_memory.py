"""`phoenix memory vector-store|vector-search|vector-all`: vector memory from the command line.

The key-value commands live in `phoenix.cli`; these three add what a text remembered by its meaning
needs: metadata given as JSON, `-k`, and `--filter KEY=VALUE` on the metadata.
"""

from __future__ import annotations

import argparse
from typing import Any

from phoenix.errors import UsageError


def add_vector_commands(actions: Any) -> None:
    """The vector subcommands, added to `phoenix memory`'s actions."""
    store = actions.add_parser("vector-store", help="remember TEXT by its meaning")
    store.add_argument("text")
    store.add_argument(
        "--metadata", default=None, help='a flat JSON object, e.g. \'{"project": "phoenix"}\''
    )
    search = actions.add_parser("vector-search", help="the texts closest in meaning to QUERY")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=None, help="how many (default 5; 1 to 50)")
    search.add_argument(
        "--filter", action="append", default=[], metavar="KEY=VALUE",
        help="only texts whose metadata has KEY=VALUE (repeatable)",
    )  # fmt: skip
    listing = actions.add_parser("vector-all", help="the newest texts remembered by meaning")
    listing.add_argument("--limit", type=int, default=None, help="most texts (default 20)")


def _filters(pairs: list[str]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"--filter takes KEY=VALUE, not {pair!r}")
        filters[key.strip()] = value
    return filters


def vector_parameters(options: argparse.Namespace) -> dict[str, Any]:
    """The memory flow's parameters for a vector subcommand (bad metadata or filters: exit 2)."""
    from phoenix.store.vectors import clean_metadata

    if options.action == "vector-store":
        return {
            "action": "vector-store",
            "value": options.text,
            "metadata": clean_metadata(options.metadata) or None,
        }
    if options.action == "vector-search":
        return {
            "action": "vector-search",
            "query": options.query,
            "k": options.k,
            "filters": _filters(options.filter) or None,
        }
    return {"action": "vector-all", "limit": options.limit}
