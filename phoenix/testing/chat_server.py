"""An OpenAI-compatible chat server with scripted behaviour, for tests and benchmarks.

Phoenix talks to it through litellm's real HTTP path (`model="openai/<name>"`, `api_base=<url>/v1`),
so everything between Phoenix and a real vLLM/Ollama/OpenAI server is exercised; only the answers are
made up.  Its behaviour is set over HTTP, so a test can change it while Phoenix runs in another process:

    POST /control   {"latency_s", "failure_rate", "failure_status", "fail_first", "fail_when_contains",
                     "hang_when_contains", "replies", "require_api_key", "echo_api_key", "seed"}
                    (fields optional; a reply is a text or {"content", "tool_calls": [{"name",
                    "arguments": {...} or "raw text"}]})
    POST /reset     forget the counters and the log, and go back to the default behaviour
    GET  /stats     {"requests", "failures", "in_flight", "max_in_flight", "attempts_by_prompt"}
    GET  /requests  the messages (and tools) of every chat request received since the last reset,
                    in order (what was sent, so a test can assert on it rather than on an echo)

Usage is reported as words, not tokens (`count_words`), so a test can recompute it.

`echo_api_key` makes the 401 of `require_api_key` quote the key it was given, as some providers
do: the caller's redaction must then keep it out of every message.  The server records messages,
never headers, so the request log holds no key.

Run it with `python -m phoenix.testing.chat_server --port 0`; it prints `READY <port>` on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class ScriptedToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] | str = Field(
        default_factory=dict, description="An object, or raw text (to script a malformed call)."
    )


class ScriptedReply(BaseModel):
    content: str | None = None
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)


class Behaviour(BaseModel):
    latency_s: float = Field(default=0.0, ge=0)
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    failure_status: int = 500
    fail_first: int = Field(default=0, ge=0, description="Fail the first K attempts of each prompt.")
    fail_when_contains: str | None = Field(default=None, description="Always fail such prompts.")
    hang_when_contains: str | None = Field(default=None, description="Never answer such prompts.")
    replies: list[str | ScriptedReply] | None = Field(
        default=None, description="Answers, used in turn: a text, or a text and/or tool calls."
    )
    require_api_key: str | None = None
    echo_api_key: bool = Field(
        default=False, description="Quote the key received in the 401 of require_api_key."
    )
    seed: int = 0


REQUEST_LOG_LIMIT = 10_000
"""The request log keeps the first this many requests after a reset (a bench sends thousands)."""


class ChatServerState:
    def __init__(self) -> None:
        self.reset()

    def reset(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.random = random.Random(self.behaviour.seed)
        self.requests = 0
        self.failures = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts: Counter[str] = Counter()
        self.request_log: list[dict[str, Any]] = []

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "attempts_by_prompt": dict(self.attempts),
        }


def _last_user_message(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "scripted", "code": status}}, status)


def count_words(value: Any) -> int:
    """The scripted server's token count: whitespace-separated words, in every string of `value`.

    Deterministic and different for different prompts, so a test can recompute what the server
    reported from what it sent (`prompt_tokens` = the words of every message's content,
    `completion_tokens` = the words of the reply's content and tool-call arguments).
    """
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, dict):
        return sum(count_words(item) for item in value.values())
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    return 0


def _answer(model: str, reply: ScriptedReply, messages: list[Any]) -> JSONResponse:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.arguments
                    if isinstance(call.arguments, str)
                    else json.dumps(call.arguments),
                },
            }
            for call in reply.tool_calls
        ]
    prompt_tokens = sum(count_words(item.get("content")) for item in messages if isinstance(item, dict))
    completion_tokens = count_words(reply.content) + sum(
        count_words(call.arguments) for call in reply.tool_calls
    )
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def build_app(state: ChatServerState | None = None) -> Starlette:
    state = state or ChatServerState()

    async def chat_completions(request: Request) -> JSONResponse:
        behaviour = state.behaviour
        state.requests += 1
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if behaviour.require_api_key is not None:
                expected = f"Bearer {behaviour.require_api_key}"
                received = request.headers.get("authorization") or ""
                if received != expected:
                    state.failures += 1
                    quoted = f": {received.removeprefix('Bearer ')}" if behaviour.echo_api_key else ""
                    return _error(401, f"Incorrect API key provided{quoted}")
            body = await request.json()
            if len(state.request_log) < REQUEST_LOG_LIMIT:
                state.request_log.append(
                    {
                        "model": body.get("model"),
                        "messages": body.get("messages") or [],
                        "tools": body.get("tools") or [],
                    }
                )
            prompt = _last_user_message(body)
            state.attempts[prompt] += 1
            attempt = state.attempts[prompt]
            if behaviour.hang_when_contains and behaviour.hang_when_contains in prompt:
                await asyncio.sleep(3600)
            if behaviour.latency_s:
                await asyncio.sleep(behaviour.latency_s)
            failing = (
                (behaviour.fail_when_contains is not None and behaviour.fail_when_contains in prompt)
                or attempt <= behaviour.fail_first
                or (behaviour.failure_rate > 0 and state.random.random() < behaviour.failure_rate)
            )
            if failing:
                state.failures += 1
                return _error(behaviour.failure_status, f"scripted failure (attempt {attempt})")
            if behaviour.replies:
                scripted = behaviour.replies[(state.requests - 1) % len(behaviour.replies)]
            else:
                scripted = f"Improvement (attempt {attempt}): {prompt[-300:]}"
            reply = ScriptedReply(content=scripted) if isinstance(scripted, str) else scripted
            messages = body.get("messages") or []
            return _answer(str(body.get("model", "scripted")), reply, messages)
        finally:
            state.in_flight -= 1

    async def control(request: Request) -> JSONResponse:
        changes = await request.json()
        merged = state.behaviour.model_dump() | changes
        state.behaviour = Behaviour.model_validate(merged)
        state.random = random.Random(state.behaviour.seed)
        return JSONResponse(state.behaviour.model_dump())

    async def reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse(state.stats())

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(state.stats())

    async def requests(request: Request) -> JSONResponse:
        return JSONResponse(state.request_log)

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/control", control, methods=["POST"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
            Route("/requests", requests, methods=["GET"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    import socket

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((options.host, options.port))
    listener.listen(2048)
    print(f"READY {listener.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        build_app(),
        log_level="warning",
        access_log=False,
        backlog=2048,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main(sys.argv[1:])
