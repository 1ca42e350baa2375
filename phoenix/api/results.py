"""How every route answers a flow's result: 200, or the status of a failed operation's code.

A flow result whose `type` is "error" is an operation that ran and failed (a build, a command, a
propose with no proposal); it keeps its data and carries `code` and `message`
(`phoenix.envelope.failed_result`).  Every route answers it through `flow_response`, so the status
is `http_status_for(code)` on all of them, the same mapping the CLI uses for its exit status.
"""

from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from phoenix.errors import http_status_for


def flow_response(result: Any) -> Any:
    """`result` as it is (FastAPI checks it against the route's model), or a failure's status."""
    if isinstance(result, dict) and result.get("type") == "error":
        status = http_status_for(str(result.get("code", "failed")))
        return JSONResponse(jsonable_encoder(result), status_code=status)
    return result


def run_flow_response(name: str, parameters: dict[str, Any]) -> Any:
    """Run the flow `name` in this process and answer its result with `flow_response`."""
    from flows import run_flow

    return flow_response(run_flow(name, parameters))
