"""One LLM call through litellm, with a timeout, a concurrency cap and sorted errors.

Every LLM call in Phoenix goes through `complete`.  It decides three things the callers should not
have to: which model answers (any litellm model string; by default the embedded local model, served
in-process by `phoenix.llm.local_model`), how many calls may be in flight in this process at once
(`PHOENIX_LLM_CONCURRENCY`), and whether a failure is worth retrying (`LLMRetryableError`: timeouts,
429, 5xx, connection) or not (`LLMFinalError`: authentication, bad request, unknown model).
The calls themselves run on one event loop per process (`phoenix.llm.io_loop`), whichever
thread makes them.
Retrying itself is left to Prefect (the tasks' `retries`), so litellm's and the OpenAI client's own
retries are switched off: a retry that Prefect cannot see is a retry nobody can count or bound.
"""

from __future__ import annotations

import gc
import json
import os
import threading
from typing import Any

from pydantic import BaseModel, Field

from phoenix.errors import OperationFailed
from phoenix.llm.io_loop import run_on_io_loop
from phoenix.settings import LOCAL_MODEL, PhoenixSettings

TIMEOUT_GRACE_S = 5.0
"""How long past its own timeout a call may run before Phoenix stops waiting for it."""
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})

Message = dict[str, str]


class LLMError(OperationFailed):
    """An LLM call failed; `retryable` tells whether trying again may help."""

    code = "llm_failed"
    http_status = 502
    retryable = False


class LLMRetryableError(LLMError):
    """A timeout, rate limit, server error or dropped connection: worth another attempt."""

    retryable = True


class LLMFinalError(LLMError):
    """Bad credentials, a bad request or an unknown model: another attempt would fail the same way."""


class LLMAuthError(LLMFinalError):
    """The model's provider refused the credentials, or none were configured."""


AUTH_HINT = (
    "authentication failed: set PHOENIX_LLM_API_KEY (or the provider's own variable, such as "
    "OPENAI_API_KEY) to a valid key for {model}"
)


_caps_lock = threading.Lock()
_caps: dict[int, threading.BoundedSemaphore] = {}


def concurrency_cap(limit: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore that keeps at most `limit` LLM calls in flight."""
    with _caps_lock:
        if limit not in _caps:
            _caps[limit] = threading.BoundedSemaphore(limit)
        return _caps[limit]


def _import_litellm() -> Any:
    # litellm fetches a price map from the network at import unless told not to; there is no
    # network here and the map is not needed.  It is imported lazily: it costs about 3 s.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # Its HTTP client allows 500 connections per host, which would quietly cap the calls in flight
    # below PHOENIX_LLM_CONCURRENCY (up to 512 ORCHs talk to one host); the cap is ours to set.
    os.environ.setdefault("AIOHTTP_CONNECTOR_LIMIT_PER_HOST", "0")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


_heap_frozen = False


def prepare_llm_client() -> None:
    """Import litellm, then, once per process, move the imported heap out of the GC's way.

    CPython's full collections walk every tracked object.  With Prefect and litellm loaded that is
    about half a million, and what a fan-out of task runs keeps alive triggers such a walk (~0.4 s)
    about once per 256 ORCHs: in `bench/propose.py` at L = 0, N = 256 the flow process spent
    1.96 ms of CPU per ORCH collecting garbage, 0.8 ms with the heap frozen (a bare litellm call:
    about 0.2 ms either way).  Called before a fan-out, not inside it; what is frozen (modules,
    litellm's price map) is never collected, and is meant to live as long as the process anyway.
    """
    global _heap_frozen
    _import_litellm()
    if not _heap_frozen:
        _heap_frozen = True
        gc.freeze()


def _client_side_error(error: BaseException) -> BaseException | None:
    """The OpenAI client's own configuration error behind `error`, if that is what it is.

    The OpenAI client raises its base `OpenAIError` before any HTTP when it has no credentials
    ("Missing credentials ...") or a provider setting is unusable.  litellm wraps every exception of
    that client with `status_code = getattr(e, "status_code", 500)`, so such an error reaches us as
    an `InternalServerError` (500), which would be retried as if the server had failed.  The
    original stays in the exception's context chain.
    """
    try:
        import openai
    except ImportError:  # pragma: no cover - litellm depends on it
        return None
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current) is openai.OpenAIError:
            return current
        current = current.__cause__ or current.__context__
    return None


def _redact(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    if len(text) > 500:
        text = text[:500] + "…"
    return text


_priced_lock = threading.Lock()
_priced: set[str] = set()
_unpriced: set[str] = set()
"""Models registered as free because litellm had no price for them: their cost is unknown."""
UNPRICED_MODEL_INFO = {
    "input_cost_per_token": 0.0,
    "output_cost_per_token": 0.0,
    "cache_creation_input_token_cost": 0.0,
    "cache_read_input_token_cost": 0.0,
    "mode": "chat",
}
"""What litellm is told about a model it has no price for: it costs nothing per token."""


def price_unknown_model(litellm: Any, model: str) -> bool:
    """Register `model` as free with litellm when its price map does not know it; whether it did.

    After every call litellm prices the answer.  For a model missing from its map (a self-hosted
    server, the embedded model, the scripted test server) that means searching the whole map and
    its fallbacks, failing, and recording a diagnostic — about 40 % of the call's CPU, measured by
    `bench/propose.py` — only to report no cost.  Registered as free, it prices the answer at 0
    from one lookup.  A model litellm does know keeps its real price.  Once per model and process.
    """
    if model in _priced:
        return False
    with _priced_lock:
        if model in _priced:
            return False
        try:
            litellm.cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
            registered = False
        except Exception:  # noqa: BLE001 - litellm says "not mapped" in several ways
            try:
                provider = litellm.get_llm_provider(model)[1]
            except Exception:  # noqa: BLE001 - a custom provider it cannot resolve yet
                provider = model.partition("/")[0]
            litellm.register_model({model: {**UNPRICED_MODEL_INFO, "litellm_provider": provider}})
            registered = True
            _unpriced.add(model)
        _priced.add(model)
        return registered


def classify(error: Exception, secret: str | None = None, model: str = "the model") -> LLMError:
    """Sort an exception from litellm into retryable or final, with a message safe to log.

    Authentication failures — a 401 from the server, or credentials missing before any request —
    are final and say so, naming the setting that fixes them.
    """
    litellm = _import_litellm()
    client_error = _client_side_error(error)
    if client_error is not None:
        detail = _redact(str(client_error), secret)
        lowered = detail.lower()
        if "credential" in lowered or "api_key" in lowered or "api key" in lowered:
            return LLMAuthError(f"{AUTH_HINT.format(model=model)} ({detail})")
        return LLMFinalError(f"The LLM client refused its configuration for {model}: {detail}")
    if isinstance(error, litellm.AuthenticationError):
        detail = _redact(f"{type(error).__name__}: {error}", secret)
        return LLMAuthError(f"{AUTH_HINT.format(model=model)} ({detail})")
    status = getattr(error, "status_code", None)
    retryable_types = (
        litellm.Timeout,
        litellm.RateLimitError,
        litellm.APIConnectionError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        TimeoutError,
        ConnectionError,
    )
    final_types = (
        litellm.AuthenticationError,
        litellm.PermissionDeniedError,
        litellm.BadRequestError,
        litellm.NotFoundError,
    )
    if isinstance(error, final_types):
        retryable = False
    elif isinstance(error, retryable_types):
        retryable = True
    elif isinstance(status, int):
        retryable = status in RETRYABLE_STATUSES
    else:
        retryable = False
    text = _redact(f"{type(error).__name__}: {error}", secret)
    return (LLMRetryableError if retryable else LLMFinalError)(text)


def completion_arguments(settings: PhoenixSettings, max_tokens: int | None) -> dict[str, Any]:
    """The keyword arguments of `litellm.completion` that come from the settings."""
    arguments: dict[str, Any] = {
        "model": settings.llm_model,
        "timeout": settings.llm_timeout,
        "max_tokens": max_tokens or settings.llm_max_tokens,
        "num_retries": 0,
        "max_retries": 0,
    }
    if settings.llm_api_base:
        arguments["api_base"] = settings.llm_api_base
    if settings.llm_api_key is not None:
        arguments["api_key"] = settings.llm_api_key.get_secret_value()
    return arguments


class TokenUsage(BaseModel):
    """What one call (or a sum of calls) used, as the provider reported it."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = Field(
        default=None, description="The price of those tokens, when litellm knows the model's price."
    )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        if self.cost_usd is None and other.cost_usd is None:
            cost = None
        else:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=cost,
        )


class ToolCall(BaseModel):
    """A tool the model asked for: its name and its arguments as the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str


class ChatReply(BaseModel):
    """One answer of the model: text, tool calls, or both, and what it cost."""

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: TokenUsage = Field(default_factory=TokenUsage)


def _usage(litellm: Any, response: Any, model: str) -> TokenUsage:
    """The response's token counts, and their price when litellm's map has one for `model`.

    A model Phoenix registered as unpriced (`price_unknown_model`) costs 0 per token, which would
    read as "free": its cost is None ("no price known") instead.
    """
    usage = getattr(response, "usage", None)
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    cost: float | None = None
    if model not in _unpriced:
        try:
            cost = float(litellm.completion_cost(completion_response=response, model=model))
        except Exception:  # noqa: BLE001 - no price known: the cost stays unknown
            cost = None
    return TokenUsage(prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost)


def _tool_calls(message: Any) -> list[ToolCall]:
    calls = []
    for index, call in enumerate(getattr(message, "tool_calls", None) or []):
        function = getattr(call, "function", None)
        name = getattr(function, "name", None) or ""
        arguments = getattr(function, "arguments", None)
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else json.dumps(arguments)
        calls.append(ToolCall(id=getattr(call, "id", None) or f"call_{index}", name=name,
                              arguments=arguments))  # fmt: skip
    return calls


def chat(
    messages: list[dict[str, Any]],
    settings: PhoenixSettings,
    *,
    tools: list[dict[str, Any]] | None = None,
    max_tokens: int | None = None,
    temperature: float = 0.7,
) -> ChatReply:
    """The model's reply to `messages` — text and/or calls of `tools` — with its token usage.

    `tools` are OpenAI-style function tools (`{"type": "function", "function": {"name",
    "description", "parameters"}}`); litellm translates them for other providers.  A reply with
    neither text nor a tool call is an `LLMRetryableError`, as in `complete`.

    Raises:
        LLMRetryableError: worth another attempt (timeout, 429, 5xx, empty answer).
        LLMFinalError: another attempt would fail the same way.
    """
    litellm = _import_litellm()
    # litellm's own timeout ends a slow call; the guard only catches a call that ignores it.
    guard_s = settings.llm_timeout + TIMEOUT_GRACE_S
    if settings.llm_model == LOCAL_MODEL or settings.llm_model.startswith("local/"):
        from phoenix.llm.local_model import LOCK_WAIT_S, register_local_provider

        register_local_provider()
        guard_s += LOCK_WAIT_S  # waiting for the embedded model is queueing, not slowness
    price_unknown_model(litellm, settings.llm_model)
    arguments = completion_arguments(settings, max_tokens)
    if tools:
        arguments["tools"] = tools
    secret = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    with concurrency_cap(settings.llm_concurrency):
        request = litellm.acompletion(messages=messages, temperature=temperature, **arguments)
        try:
            response = run_on_io_loop(request, guard_s)
        except LLMError:
            raise
        except Exception as error:  # noqa: BLE001 - every failure is sorted, none is swallowed
            raise classify(error, secret, settings.llm_model) from None
    message = response.choices[0].message if response.choices else None
    content = getattr(message, "content", None)
    calls = _tool_calls(message)
    if (not content or not content.strip()) and not calls:
        raise LLMRetryableError(f"The model {settings.llm_model} returned an empty answer")
    return ChatReply(
        content=content.strip() if content and content.strip() else None,
        tool_calls=calls,
        usage=_usage(litellm, response, settings.llm_model),
    )


def complete_with_usage(
    messages: list[Message],
    settings: PhoenixSettings,
    *,
    max_tokens: int | None = None,
    temperature: float = 0.7,
) -> tuple[str, TokenUsage]:
    """The model's text answer to `messages`, and the tokens it used."""
    reply = chat(messages, settings, max_tokens=max_tokens, temperature=temperature)
    if reply.content is None:
        raise LLMRetryableError(f"The model {settings.llm_model} answered with tool calls, not text")
    return reply.content, reply.usage


def complete(
    messages: list[Message],
    settings: PhoenixSettings,
    *,
    max_tokens: int | None = None,
    temperature: float = 0.7,
) -> str:
    """The model's answer to `messages`, or an `LLMError`."""
    return complete_with_usage(messages, settings, max_tokens=max_tokens, temperature=temperature)[0]
