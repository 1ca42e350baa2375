"""speak: a conversation turn with the LLM, kept as an episodic memory."""

from __future__ import annotations

from typing import Any

from prefect import flow

from blocks.llm import resolve_settings
from flows.run_names import speak_run_name
from phoenix.errors import BadInput
from tasks.llm import ask_llm
from tasks.memory import remember_episode


@flow(name="speak", flow_run_name=speak_run_name, validate_parameters=True)
def speak(user_input: str) -> dict[str, Any]:
    """Answer `user_input` with the LLM and remember the exchange under a key of its own.

    Args:
        user_input: what the user says; the reply and the input are kept as an episode.
    """
    if not user_input or not user_input.strip():
        raise BadInput("Say something: the input is empty")
    settings = resolve_settings()
    reply = ask_llm(user_input.strip(), settings)
    episode = remember_episode(user_input.strip(), reply)
    return {"type": "speak", "message": reply, "episode_key": episode.key}
