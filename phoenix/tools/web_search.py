"""The web_search tool: any SearxNG-compatible JSON endpoint (`PHOENIX_SEARCH_URL`).

The request is `GET {PHOENIX_SEARCH_URL}?q=...&format=json` (SearxNG's `/search`; give the full
URL of the search path); the answer's `results` list of `{"title", "url", "content"}` becomes one
numbered entry each, at most `limit`.  Unset, the tool says how to set it.
"""

from __future__ import annotations

from typing import Any

import httpx

from phoenix.tools.run import ToolFailed, ToolResult
from phoenix.tools.settings import ToolSettings


def run(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    if not settings.search_url:
        raise ToolFailed(
            "Web search is not configured: set PHOENIX_SEARCH_URL to a SearxNG-compatible"
            " endpoint (e.g. http://localhost:8080/search)"
        )
    limit = int(arguments.get("limit") or 5)
    try:
        response = httpx.get(
            settings.search_url,
            params={"q": arguments["query"], "format": "json"},
            timeout=settings.http_timeout,
            follow_redirects=True,
        )
        response.raise_for_status()
        data = response.json()
    except httpx.HTTPStatusError as error:
        raise ToolFailed(f"The search endpoint answered {error.response.status_code}") from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:  # InvalidURL is no HTTPError
        raise ToolFailed(f"The search endpoint could not be reached: {error}") from None
    except ValueError:
        raise ToolFailed("The search endpoint did not answer JSON (is format=json enabled?)") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ToolFailed("The search endpoint's answer has no `results` list")
    hits = [
        {
            "title": str(item.get("title") or ""),
            "url": str(item.get("url") or ""),
            "snippet": str(item.get("content") or ""),
        }
        for item in results[:limit]
        if isinstance(item, dict)
    ]
    lines = [
        f"{i}. {hit['title']}\n   {hit['url']}\n   {hit['snippet']}" for i, hit in enumerate(hits, 1)
    ]
    return ToolResult(
        tool="web_search",
        ok=True,
        output="\n".join(lines) if lines else "No results.",
        details={"results": hits},
    )
